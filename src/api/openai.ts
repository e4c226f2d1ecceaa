// The OpenAI-compatible API: GET /v1/models, POST /v1/completions, POST /v1/chat/completions. `model`
// names an endpoint by id or display name; `stream` sends server-sent events ending in `data: [DONE]`.

import { randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import {
  type ChatMessage,
  type ControlPlane,
  type Endpoint,
  type InferenceResult,
  MAX_PARALLEL_CALLS,
  type PromptInput,
  type ToolCall,
  badRequest,
} from "../control/index.ts";
import { answer, sampling } from "./generation.ts";
import { OpenAiResponseFormat, openAiStructured, structuredFor } from "./structured.ts";
import { OpenAiTool, OpenAiToolCall, OpenAiToolChoice, ToolStream, openAiToolMode, toolPlan } from "./tools.ts";
import { route } from "./routes.ts";

const common = {
  model: z.string().min(1).describe("endpoint id or display name"),
  max_tokens: z.number().int().min(1).max(32768).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  n: z.number().int().min(1).max(16).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.strictObject({ include_usage: z.boolean().optional() }).nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(16)]).nullish(),
  seed: z.number().int().nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  user: z.string().max(256).nullish().describe("accepted and ignored"),
  logit_bias: z
    .record(z.string(), z.number().min(-100).max(100))
    .nullish()
    .describe("token id → bias added to its logit (-100 bans the token, 100 all but forces it)"),
  response_format: OpenAiResponseFormat.nullish().describe(
    "json_object or json_schema: constrained decoding, every output parses (and validates)",
  ),
};

export const CompletionRequest = z
  .strictObject({
    ...common,
    prompt: z.union([z.string(), z.array(z.string()).length(1), z.array(z.number().int().min(0)).min(1)]).describe("text, or token ids"),
    logprobs: z
      .number()
      .int()
      .min(0)
      .max(5)
      .nullish()
      .describe("include each token's log-probability and the N most likely tokens at each position"),
    echo: z.literal(false).nullish(),
  })
  .meta({ id: "CreateCompletionRequest" });

const Content = z.union([z.string(), z.array(z.strictObject({ type: z.literal("text"), text: z.string() }))]);
export const ChatRequest = z
  .strictObject({
    ...common,
    messages: z
      .array(
        z.strictObject({
          role: z.enum(["system", "developer", "user", "assistant", "tool"]),
          content: Content.nullish().describe("may be null only on an assistant turn with tool_calls"),
          name: z.string().optional(),
          tool_calls: z.array(OpenAiToolCall).optional().describe("assistant turns: the calls it made"),
          tool_call_id: z.string().optional().describe("tool turns: the call this result answers"),
        }),
      )
      .min(1),
    tools: z
      .array(OpenAiTool)
      .max(128)
      .nullish()
      .describe("functions the model may call: shown through its chat template's `tools` variable, or Sprig's default tool prompt"),
    tool_choice: OpenAiToolChoice.nullish().describe(
      "none, auto (default with tools), required, or {type: function, function: {name}}; required and named calls are constrained to the function's parameters",
    ),
    parallel_tool_calls: z.boolean().nullish().describe(`allow up to ${MAX_PARALLEL_CALLS} calls in one answer (default true)`),
    max_completion_tokens: z.number().int().min(1).max(32768).nullish(),
    logprobs: z.boolean().nullish(),
    top_logprobs: z.number().int().min(0).max(20).nullish().describe("with logprobs: the N most likely tokens at each position"),
  })
  .meta({ id: "CreateChatCompletionRequest" });

const usage = (r: InferenceResult[]) => {
  const prompt = r[0]?.promptTokens ?? 0;
  const completion = r.reduce((s, x) => s + x.ids.length, 0);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
};
const finish = (r: InferenceResult) => (r.finishReason === "length" ? "length" : "stop");
const text = (c: z.infer<typeof Content>) => (typeof c === "string" ? c : c.map((p) => p.text).join(""));

export function openAiRoutes(app: FastifyInstance, cp: ControlPlane): void {
  const asModel = (e: Endpoint) => ({
    id: e.id,
    object: "model",
    created: Math.floor(Date.parse(e.timeCreated) / 1000),
    owned_by: e.compartmentId,
    display_name: e.displayName,
    lifecycle_state: e.lifecycleState,
    model_id: e.modelId,
  });
  route(
    app,
    { method: "GET", url: "/v1/models", tag: "OpenAI", summary: "Endpoints the key may use, as OpenAI models" },
    async ({ scope }) => {
      const eps = (await cp.endpoints.list(scope, { limit: 1000, sortBy: "timeCreated", sortOrder: "ASC" })).items.filter(
        (e) => e.lifecycleState !== "DELETED",
      );
      return { object: "list", data: eps.map(asModel) };
    },
  );
  route(
    app,
    {
      method: "GET",
      url: "/v1/models/:model",
      tag: "OpenAI",
      summary: "One endpoint (by id or display name) as an OpenAI model",
      params: z.strictObject({ model: z.string().min(1).max(255) }),
    },
    async ({ scope, params }) => asModel(await cp.endpoints.resolve(scope, params.model)),
  );

  route(
    app,
    { method: "POST", url: "/v1/completions", tag: "OpenAI", summary: "Text completion", body: CompletionRequest },
    async ({ scope, body: b, req, reply }) => {
      const prompt: PromptInput =
        typeof b.prompt === "string"
          ? { kind: "text", text: b.prompt }
          : typeof b.prompt[0] === "string"
            ? { kind: "text", text: b.prompt[0] as string }
            : { kind: "ids", ids: b.prompt as number[] };
      const structured = openAiStructured(b.response_format);
      const s = sampling({
        ...knobs(b),
        maxTokens: b.max_tokens ?? 16,
        topLogprobs: b.logprobs ?? undefined,
        responseFormat: structured.format,
      });
      const id = `cmpl-${randomBytes(12).toString("hex")}`;
      const created = Math.floor(Date.now() / 1000);
      const n = b.n ?? 1;
      const logprobs = (r: InferenceResult) =>
        b.logprobs == null
          ? null
          : {
              tokens: r.tokens,
              token_logprobs: r.logprobs,
              top_logprobs: r.tokens.map((t, i) =>
                r.topLogprobs?.[i] ? Object.fromEntries(r.topLogprobs[i].map((x) => [x.token, x.logprob])) : { [t]: r.logprobs[i]! },
              ),
              text_offset: offsets(r.tokens),
            };
      const chunk = (model: string, choices: unknown[], extra = {}) => ({
        id,
        object: "text_completion",
        created,
        model,
        choices,
        ...extra,
      });
      return answer(
        cp,
        scope,
        { req, reply },
        { endpoint: b.model, prompt, sampling: s, n, stream: !!b.stream, check: structured.check, terminator: "done" },
        (sse, model) => ({
          delta: (index, text) => sse.send(chunk(model, [{ index, text, logprobs: null, finish_reason: null }])),
          end: (out) => {
            out.results.forEach((r, index) => sse.send(chunk(model, [{ index, text: "", logprobs: null, finish_reason: finish(r) }])));
            if (b.stream_options?.include_usage) sse.send(chunk(model, [], { usage: usage(out.results) }));
          },
        }),
        (out) => ({
          ...chunk(
            out.endpointId,
            out.results.map((r, index) => ({ index, text: r.text, logprobs: logprobs(r), finish_reason: finish(r) })),
          ),
          usage: usage(out.results),
        }),
      );
    },
  );

  route(
    app,
    {
      method: "POST",
      url: "/v1/chat/completions",
      tag: "OpenAI",
      summary: "Chat completion (the model's chat template, or Sprig's default ChatML template)",
      body: ChatRequest,
    },
    async ({ scope, body: b, req, reply }) => {
      const tools = toolPlan(
        b.tools?.map((t) => t.function),
        openAiToolMode(b.tool_choice, !!b.tools?.length),
        b.parallel_tool_calls ?? true,
      );
      if (tools.format && b.response_format && b.response_format.type !== "text")
        throw badRequest("response_format: cannot be combined with a required tool call (tool_choice)");
      const prompt: PromptInput = { kind: "chat", messages: b.messages.map(chatMessage), tools: tools.tools };
      if (b.top_logprobs && !b.logprobs) throw badRequest("top_logprobs: needs logprobs: true");
      const structured = tools.format ? structuredFor(tools.format) : openAiStructured(b.response_format);
      const s = sampling({
        ...knobs(b),
        maxTokens: b.max_completion_tokens ?? b.max_tokens ?? undefined,
        topLogprobs: b.logprobs ? (b.top_logprobs ?? 0) : 0,
        responseFormat: structured.format,
      });
      const id = `chatcmpl-${randomBytes(12).toString("hex")}`;
      const created = Math.floor(Date.now() / 1000);
      const n = b.n ?? 1;
      const chunk = (model: string, choices: unknown[], extra = {}) => ({
        id,
        object: "chat.completion.chunk",
        created,
        model,
        system_fingerprint: null,
        choices,
        ...extra,
      });
      const finishOf = (r: InferenceResult, calls: ToolCall[] | null) => (calls ? "tool_calls" : finish(r));
      return answer(
        cp,
        scope,
        { req, reply },
        { endpoint: b.model, prompt, sampling: s, n, stream: !!b.stream, check: structured.check, terminator: "done" },
        (sse, model) => {
          const content = (index: number, delta: string) =>
            sse.send(chunk(model, [{ index, delta: { content: delta }, logprobs: null, finish_reason: null }]));
          const held = tools.tools && tools.mode.mode !== "none" ? new ToolStream(n, !!tools.format, content) : null;
          return {
            open: () => {
              for (let index = 0; index < n; index++)
                sse.send(chunk(model, [{ index, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]));
            },
            delta: (index, delta) => (held ? held.delta(index, delta) : content(index, delta)),
            end: (out) => {
              out.results.forEach((r, index) => {
                const calls = tools.calls(r);
                held?.flush(index, !!calls);
                // as OpenAI streams calls: id, type and name first with empty arguments, then the arguments
                calls?.forEach((c, k) => {
                  const call = (toolCall: unknown) =>
                    sse.send(chunk(model, [{ index, delta: { tool_calls: [toolCall] }, logprobs: null, finish_reason: null }]));
                  call({ index: k, id: c.id, type: "function", function: { name: c.name, arguments: "" } });
                  call({ index: k, function: { arguments: c.arguments } });
                });
                sse.send(chunk(model, [{ index, delta: {}, logprobs: null, finish_reason: finishOf(r, calls) }]));
              });
              if (b.stream_options?.include_usage) sse.send(chunk(model, [], { usage: usage(out.results) }));
            },
          };
        },
        (out) => ({
          id,
          object: "chat.completion",
          created,
          model: out.endpointId,
          system_fingerprint: null,
          choices: out.results.map((r, index) => {
            const calls = tools.calls(r);
            return {
              index,
              message: calls
                ? {
                    role: "assistant",
                    content: null,
                    refusal: null,
                    tool_calls: calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } })),
                  }
                : { role: "assistant", content: r.text, refusal: null },
              logprobs: b.logprobs ? chatLogprobs(r) : null,
              finish_reason: finishOf(r, calls),
            };
          }),
          usage: usage(out.results),
        }),
      );
    },
  );
}

type ChatIn = z.infer<typeof ChatRequest>["messages"][number];

function chatMessage(m: ChatIn, i: number): ChatMessage {
  if (m.content == null && !(m.role === "assistant" && m.tool_calls?.length))
    throw badRequest(`messages.${i}.content: required (null only on an assistant turn with tool_calls)`);
  if (m.role === "tool" && !m.tool_call_id) throw badRequest(`messages.${i}.tool_call_id: required on a tool message`);
  const out: ChatMessage = { role: m.role === "developer" ? "system" : m.role, content: m.content == null ? "" : text(m.content) };
  // templates read arguments as an object, as transformers passes them
  if (m.tool_calls?.length)
    out.tool_calls = m.tool_calls.map((c) => ({
      id: c.id,
      type: "function",
      function: { name: c.function.name, arguments: parseArgs(c.function.arguments, i) },
    }));
  if (m.tool_call_id) out.tool_call_id = m.tool_call_id;
  return out;
}

function parseArgs(a: string, i: number): unknown {
  try {
    return JSON.parse(a);
  } catch {
    throw badRequest(`messages.${i}.tool_calls: arguments must be JSON text`);
  }
}

/** The sampling fields both OpenAI routes share. */
function knobs(b: {
  temperature?: number | null;
  top_p?: number | null;
  seed?: number | null;
  stop?: string | string[] | null;
  frequency_penalty?: number | null;
  presence_penalty?: number | null;
  logit_bias?: Record<string, number> | null;
}) {
  return {
    temperature: b.temperature ?? undefined,
    topP: b.top_p ?? undefined,
    seed: b.seed ?? undefined,
    stop: b.stop,
    frequencyPenalty: b.frequency_penalty ?? undefined,
    presencePenalty: b.presence_penalty ?? undefined,
    logitBias: b.logit_bias,
  };
}

function chatLogprobs(r: InferenceResult) {
  const bytes = (i: number, t: string) => r.tokenBytes?.[i] ?? [...Buffer.from(t, "utf8")];
  return {
    content: r.tokens.map((t, i) => {
      const b = bytes(i, t);
      return { token: Buffer.from(b).toString("utf8"), logprob: r.logprobs[i]!, bytes: b, top_logprobs: r.topLogprobs?.[i] ?? [] };
    }),
    refusal: null,
  };
}

function offsets(tokens: string[]): number[] {
  let at = 0;
  return tokens.map((t) => {
    const o = at;
    at += t.length;
    return o;
  });
}
