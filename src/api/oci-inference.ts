// OCI-style inference: POST /20231130/actions/generateText (COHERE and LLAMA request shapes) and
// POST /20231130/actions/chat (GENERIC and COHERE formats), served by a DEDICATED endpoint.
// `isStream: true` answers with server-sent events: `{index, text}` per delta, then `{index, finishReason}`.

import type { FastifyInstance } from "fastify";
import { z } from "zod";
import {
  type ChatMessage,
  type ControlPlane,
  type InferenceResult,
  type PromptInput,
  type ToolCall,
  badRequest,
} from "../control/index.ts";
import { type StreamShape, answer, sampling } from "./generation.ts";
import { OciResponseFormat, ociStructured, structuredFor } from "./structured.ts";
import { OciTool, OciToolCall, OciToolChoice, type ToolPlan, ociToolMode, toolPlan } from "./tools.ts";
import { route } from "./routes.ts";
import { ServingMode, servedBy } from "./serving-mode.ts";
import { type ContentModerator, type ModerationRun, moderationFor } from "./content-moderation.ts";
import type { SseStream } from "./sse.ts";

const knobs = {
  maxTokens: z.number().int().min(1).max(32768).optional(),
  temperature: z.number().min(0).max(5).optional(),
  topK: z.number().int().min(0).optional(),
  topP: z.number().gt(0).max(1).optional(),
  frequencyPenalty: z.number().min(-2).max(2).optional(),
  presencePenalty: z.number().min(-2).max(2).optional(),
  isStream: z.boolean().optional(),
  numGenerations: z.number().int().min(1).max(16).optional(),
  seed: z.number().int().optional(),
};

const CohereText = z.strictObject({
  runtimeType: z.literal("COHERE"),
  prompt: z.string(),
  stopSequences: z.array(z.string()).max(16).optional(),
  returnLikelihoods: z.enum(["NONE", "ALL", "GENERATION"]).optional(),
  ...knobs,
});
const LogProbs = z
  .number()
  .int()
  .min(0)
  .max(20)
  .optional()
  .describe("return each token's log-probability and the N most likely tokens at each position");
const LogitBias = z.record(z.string(), z.number().min(-100).max(100)).optional().describe("token id → bias added to its logit");
const LlamaText = z.strictObject({
  runtimeType: z.literal("LLAMA"),
  prompt: z.string(),
  stop: z.array(z.string()).max(16).optional(),
  logProbs: LogProbs,
  logitBias: LogitBias,
  ...knobs,
});
export const GenerateTextDetails = z
  .strictObject({
    compartmentId: z.string().min(1),
    servingMode: ServingMode,
    inferenceRequest: z.discriminatedUnion("runtimeType", [CohereText, LlamaText]),
  })
  .meta({ id: "GenerateTextDetails" });

const Role = z.enum(["SYSTEM", "USER", "ASSISTANT", "TOOL"]);
const GenericChat = z.strictObject({
  apiFormat: z.literal("GENERIC"),
  messages: z
    .array(
      z.strictObject({
        role: Role,
        content: z
          .array(z.strictObject({ type: z.literal("TEXT"), text: z.string() }))
          .optional()
          .describe("required except on an ASSISTANT turn with toolCalls"),
        toolCalls: z.array(OciToolCall).optional().describe("ASSISTANT turns: the calls it made"),
        toolCallId: z.string().optional().describe("TOOL turns: the call this result answers"),
      }),
    )
    .min(1),
  tools: z.array(OciTool).max(128).optional().describe("functions the model may call"),
  toolChoice: OciToolChoice.optional().describe(
    "NONE, AUTO (default with tools), REQUIRED or FUNCTION {name}; REQUIRED and FUNCTION are constrained to the parameters",
  ),
  isParallelToolCalls: z.boolean().optional(),
  stop: z.array(z.string()).max(16).optional(),
  logProbs: LogProbs,
  logitBias: LogitBias,
  responseFormat: OciResponseFormat.optional().describe(
    "JSON_OBJECT or JSON_SCHEMA: constrained decoding, every output parses (and validates)",
  ),
  ...knobs,
});
// OCI's COHERE chat answers once: numGenerations is refused as an unknown field, not silently ignored
const { numGenerations: _oneAnswer, ...cohereChatKnobs } = knobs;
const CohereChat = z.strictObject({
  apiFormat: z.literal("COHERE"),
  message: z.string(),
  chatHistory: z.array(z.strictObject({ role: z.enum(["USER", "CHATBOT", "SYSTEM"]), message: z.string() })).optional(),
  preambleOverride: z.string().optional(),
  stopSequences: z.array(z.string()).max(16).optional(),
  ...cohereChatKnobs,
});
export const ChatDetails = z
  .strictObject({
    compartmentId: z.string().min(1),
    servingMode: ServingMode,
    chatRequest: z.discriminatedUnion("apiFormat", [GenericChat, CohereChat]),
  })
  .meta({ id: "ChatDetails" });

export function ociInferenceRoutes(app: FastifyInstance, cp: ControlPlane, moderator: ContentModerator): void {
  route(
    app,
    {
      method: "POST",
      url: "/20231130/actions/generateText",
      tag: "Inference",
      summary: "Generate text from a prompt",
      body: GenerateTextDetails,
    },
    async ({ scope, body, req, reply }) => {
      const endpoint = await servedBy(cp, scope, body.compartmentId, body.servingMode);
      const r = body.inferenceRequest;
      const mod = moderationFor(moderator, endpoint);
      mod?.checkInput(r.prompt);
      const prompt: PromptInput = { kind: "text", text: r.prompt };
      const s = sampling({
        ...r,
        stop: r.runtimeType === "COHERE" ? r.stopSequences : r.stop,
        topLogprobs: r.runtimeType === "LLAMA" ? r.logProbs : undefined,
        logitBias: r.runtimeType === "LLAMA" ? r.logitBias : undefined,
      });
      const n = r.numGenerations ?? 1;
      const stream = (sse: SseStream): StreamShape => {
        const held = holdFor(mod);
        return {
          delta: (index, text) => held.send(index, text, (t) => sse.send({ index, text: t })),
          end: (out) => {
            moderateStream(mod, out.results, held, sse.send);
            out.results.forEach((g, index) =>
              sse.send({ index, text: "", finishReason: g.finishReason === "length" ? "MAX_TOKENS" : "COMPLETE" }),
            );
          },
        };
      };
      const call = { endpoint, prompt, sampling: s, n, stream: !!r.isStream, terminator: "end" } as const;
      return answer(cp, scope, { req, reply }, call, stream, (out) => {
        mod?.checkOutputs(out.results.map((g) => g.text));
        const timeCreated = new Date().toISOString();
        const inferenceResponse =
          r.runtimeType === "COHERE"
            ? {
                runtimeType: "COHERE",
                timeCreated,
                prompt: r.prompt,
                generatedTexts: out.results.map((g, i) => ({
                  id: `${req.id}-${i}`,
                  text: g.text,
                  likelihood: g.logprobs.reduce((a, b) => a + b, 0),
                  finishReason: g.finishReason === "length" ? "MAX_TOKENS" : "COMPLETE",
                  tokenLikelihoods:
                    r.returnLikelihoods && r.returnLikelihoods !== "NONE"
                      ? g.tokens.map((t, k) => ({ token: t, likelihood: g.logprobs[k] }))
                      : undefined,
                })),
              }
            : {
                runtimeType: "LLAMA",
                created: timeCreated,
                choices: out.results.map((g, index) => ({
                  index,
                  text: g.text,
                  finishReason: g.finishReason,
                  logprobs: r.logProbs ? ociLogprobs(g) : undefined,
                })),
              };
        return { modelId: out.modelId, modelVersion: "1", inferenceResponse, ...(mod ? { contentModeration: mod.report() } : {}) };
      });
    },
  );

  route(
    app,
    {
      method: "POST",
      url: "/20231130/actions/chat",
      tag: "Inference",
      summary: "Chat with a model (its chat template, or Sprig's default ChatML template)",
      body: ChatDetails,
    },
    async ({ scope, body, req, reply }) => {
      const endpoint = await servedBy(cp, scope, body.compartmentId, body.servingMode);
      const mod = moderationFor(moderator, endpoint);
      const r = body.chatRequest;
      const messages: ChatMessage[] =
        r.apiFormat === "GENERIC"
          ? r.messages.map(genericMessage)
          : [
              ...(r.preambleOverride ? [{ role: "system", content: r.preambleOverride }] : []),
              ...(r.chatHistory ?? []).map((m) => ({
                role: m.role === "CHATBOT" ? "assistant" : m.role.toLowerCase(),
                content: m.message,
              })),
              { role: "user", content: r.message },
            ];
      mod?.checkInput(messages.map((m) => m.content).join("\n"));
      const generic = r.apiFormat === "GENERIC" ? r : null;
      const tools: ToolPlan = toolPlan(
        generic?.tools?.map((t) => ({ name: t.name, description: t.description, parameters: t.parameters })),
        ociToolMode(generic?.toolChoice, !!generic?.tools?.length),
        generic?.isParallelToolCalls ?? true,
      );
      if (tools.format && generic?.responseFormat && generic.responseFormat.type !== "TEXT")
        throw badRequest("chatRequest.responseFormat: cannot be combined with a required tool call (toolChoice)");
      const structured = tools.format ? structuredFor(tools.format) : ociStructured(generic?.responseFormat);
      const s = sampling({
        ...r,
        stop: generic ? generic.stop : r.apiFormat === "COHERE" ? r.stopSequences : undefined,
        topLogprobs: generic?.logProbs,
        logitBias: generic?.logitBias,
        responseFormat: structured.format,
      });
      const n = r.apiFormat === "GENERIC" ? (r.numGenerations ?? 1) : 1;
      const prompt: PromptInput = { kind: "chat", messages, tools: tools.tools };
      const stream = (sse: SseStream): StreamShape => {
        const held = holdFor(mod);
        return {
          delta: (index, text) =>
            held.send(index, text, (t) =>
              sse.send(
                r.apiFormat === "GENERIC"
                  ? { index, message: { role: "ASSISTANT", content: [{ type: "TEXT", text: t }] } }
                  : { apiFormat: "COHERE", text: t },
              ),
            ),
          end: (out) => {
            moderateStream(mod, out.results, held, sse.send);
            out.results.forEach((g, index) => {
              const calls = tools.calls(g);
              if (calls) sse.send({ index, message: { role: "ASSISTANT", toolCalls: calls.map(ociCall) } });
              sse.send({ index, finishReason: calls ? "tool_calls" : g.finishReason === "length" ? "MAX_TOKENS" : "COMPLETE" });
            });
          },
        };
      };
      const call = {
        endpoint,
        prompt,
        sampling: s,
        n,
        stream: !!r.isStream,
        check: structured.check,
        terminator: "end",
      } as const;
      return answer(cp, scope, { req, reply }, call, stream, (out) => {
        mod?.checkOutputs(out.results.map((g) => g.text));
        const timeCreated = new Date().toISOString();
        const g0 = out.results[0]!;
        const usage = ociUsage(out.results);
        const chatResponse =
          r.apiFormat === "GENERIC"
            ? {
                apiFormat: "GENERIC",
                timeCreated,
                choices: out.results.map((g, index) => {
                  const calls = tools.calls(g);
                  const message = calls
                    ? { role: "ASSISTANT", toolCalls: calls.map(ociCall) }
                    : { role: "ASSISTANT", content: [{ type: "TEXT", text: g.text }] };
                  return {
                    index,
                    message,
                    finishReason: calls ? "tool_calls" : g.finishReason,
                    logprobs: r.logProbs ? ociLogprobs(g) : undefined,
                  };
                }),
                usage,
              }
            : {
                apiFormat: "COHERE",
                text: g0.text,
                finishReason: g0.finishReason === "length" ? "MAX_TOKENS" : "COMPLETE",
                chatHistory: [...(r.chatHistory ?? []), { role: "USER", message: r.message }, { role: "CHATBOT", message: g0.text }],
                usage,
              };
        return { modelId: out.modelId, modelVersion: "1", chatResponse, ...(mod ? { contentModeration: mod.report() } : {}) };
      });
    },
  );
}

/** OCI's Logprobs: the chosen tokens, their log-probabilities, and the most likely tokens per position. */
function ociLogprobs(g: InferenceResult) {
  let at = 0;
  const textOffset = g.tokens.map((t) => ((at += t.length), at - t.length));
  return {
    tokens: g.tokens,
    tokenLogprobs: g.logprobs,
    textOffset,
    ...(g.topLogprobs ? { topLogprobs: g.topLogprobs.map((l) => Object.fromEntries(l.map((x) => [x.token, x.logprob]))) } : {}),
  };
}

/** OCI chat responses' usage: the prompt once, every generation's tokens. */
function ociUsage(results: InferenceResult[]) {
  const promptTokens = results[0]?.promptTokens ?? 0;
  const completionTokens = results.reduce((s, x) => s + x.ids.length, 0);
  return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
}

const ociCall = (c: ToolCall) => ({ id: c.id, type: "FUNCTION", name: c.name, arguments: c.arguments });

function genericMessage(m: z.infer<typeof GenericChat>["messages"][number], i: number): ChatMessage {
  if (!m.content && !(m.role === "ASSISTANT" && m.toolCalls?.length))
    throw badRequest(`chatRequest.messages.${i}.content: required (may be left out only on an ASSISTANT turn with toolCalls)`);
  if (m.role === "TOOL" && !m.toolCallId) throw badRequest(`chatRequest.messages.${i}.toolCallId: required on a TOOL message`);
  const out: ChatMessage = { role: m.role.toLowerCase(), content: (m.content ?? []).map((c) => c.text).join("") };
  if (m.toolCalls?.length)
    out.tool_calls = m.toolCalls.map((c) => {
      let args: unknown;
      try {
        args = JSON.parse(c.arguments);
      } catch {
        throw badRequest(`chatRequest.messages.${i}.toolCalls: arguments must be JSON text`);
      }
      return { id: c.id, type: "function", function: { name: c.name, arguments: args } };
    });
  if (m.toolCallId) out.tool_call_id = m.toolCallId;
  return out;
}

/**
 * Streaming through a moderated endpoint: INFORM streams as usual; BLOCK holds every delta until the whole
 * answer is checked (so nothing flagged is ever sent), then sends each choice's text in one event.
 */
interface Held {
  send(index: number, text: string, out: (text: string) => void): void;
  flush(): void;
}
function holdFor(mod: ModerationRun | null): Held {
  if (mod?.mode !== "BLOCK") return { send: (_i, text, out) => out(text), flush() {} };
  const held = new Map<number, { text: string; out: (text: string) => void }>();
  return {
    send(index, text, out) {
      const h = held.get(index) ?? { text: "", out };
      h.text += text;
      held.set(index, h);
    },
    flush() {
      for (const h of held.values()) h.out(h.text);
    },
  };
}

/** After a streamed generation: check the answers (BLOCK throws before anything held is sent), send the report. */
function moderateStream(mod: ModerationRun | null, results: InferenceResult[], held: Held, send: (e: object) => void): void {
  if (!mod) return;
  mod.checkOutputs(results.map((g) => g.text));
  held.flush();
  send({ contentModeration: mod.report() });
}
