// Worker process of a HOSTING cluster unit: one HostingEngine on the cluster's base model, serving every
// endpoint of the cluster (base, adapters, full models). Tokenization happens here, next to the model.

import { HostingEngine } from "../../serving/index.ts";
import { InvalidRequestError, UnknownModelError } from "../../serving/index.ts";
import { tokenBytes } from "../../serving/index.ts";
import type { EmbedResult, InferenceResult, PoolStats, PromptInput } from "../executors.ts";
import type { HostingCommand, HostingReport } from "./messages.ts";
import { templateTakesTools, withDefaultToolPrompt } from "../tool-calls.ts";
import { toWire } from "./messages.ts";
import { sendHeartbeats } from "./watchdog.ts";

const send = (m: HostingReport): void => void process.send?.(m);
let engine: HostingEngine | null = null;
/** endpoint id → engine model name (null = the base model) */
const served = new Map<string, string | null>();
const inflight = new Map<number, AbortController>();

process.on("disconnect", () => process.exit(0));
process.on("message", (m: HostingCommand) => void handle(m));
sendHeartbeats();

async function handle(m: HostingCommand): Promise<void> {
  if (m.type === "init") {
    try {
      // the unit's share: its cores' worth of compute threads, its memory budget's KV cache; 64 rows, so
      // that one request of each of a cluster's endpoints (50 by default) fits in one batch
      engine = await HostingEngine.create({
        modelDir: m.baseModelDir,
        threads: m.threads || undefined,
        kvCacheBytes: m.kvCacheBytes,
        maxBatchSize: 64,
        weights: m.weights,
      });
      send({ type: "ready" });
    } catch (e) {
      send({ type: "init-failed", error: toWire(e) });
    }
    return;
  }
  if (m.type === "cancel") return void inflight.get(m.id)?.abort();
  const reply = (value?: InferenceResult | PoolStats | EmbedResult | null, error?: unknown) =>
    send({ type: "result", id: m.id, value, error: error === undefined ? undefined : toWire(error) });
  try {
    const e = engine!;
    if (m.type === "activate") {
      // idempotent: every API node of several machines activates the endpoints it serves (an endpoint's model never changes)
      if (m.model.kind !== "base" && !served.has(m.endpointId)) await e.activate(m.endpointId, m.model.dir);
      served.set(m.endpointId, m.model.kind === "base" ? null : m.endpointId);
      reply(null);
    } else if (m.type === "deactivate") {
      const name = served.get(m.endpointId);
      served.delete(m.endpointId);
      if (name) await e.deactivate(name, { cancelInFlight: m.cancelInFlight });
      reply(null);
    } else if (m.type === "generate") {
      reply(await generate(e, m));
    } else if (m.type === "embed") {
      reply(await embed(e, m));
    } else if (m.type === "stats") {
      const s = e.stats();
      const memoryBytes: Record<string, number> = { base: s.base.bytes };
      for (const x of s.models) memoryBytes[x.name] = x.bytes;
      reply({ replicas: 1, queueLength: s.queue.length, memoryBytes });
    } else if (m.type === "close") {
      await e.close();
      reply(null);
      process.disconnect?.();
    }
  } catch (err) {
    reply(undefined, err);
  }
}

async function generate(e: HostingEngine, m: Extract<HostingCommand, { type: "generate" }>): Promise<InferenceResult> {
  if (!served.has(m.endpointId)) throw new UnknownModelError(m.endpointId, [...served.keys()]);
  const adapter = served.get(m.endpointId)!;
  const promptIds = await encode(e, m.prompt);
  const ac = new AbortController();
  inflight.set(m.id, ac);
  const tokens: string[] = [];
  try {
    const g = await e.submit({
      adapter,
      promptIds,
      sampling: { ...m.sampling },
      signal: ac.signal,
      onToken: (t) => {
        tokens.push(t.text);
        if (t.text) send({ type: "token", id: m.id, text: t.text });
      },
    });
    const vocab = e.tokenizer ? tokenBytes(e.tokenizer).bytes : null;
    const bytesOf = (id: number) => [...(vocab?.[id] ?? [])];
    const top = g.topLogprobs?.map((list) =>
      list.map((t) => ({ token: Buffer.from(bytesOf(t.id)).toString("utf8"), logprob: t.logprob, bytes: bytesOf(t.id) })),
    );
    return {
      ids: g.ids,
      logprobs: g.logprobs,
      tokens: tokens.slice(0, g.ids.length),
      text: g.text ?? g.ids.join(" "),
      finishReason: g.finishReason,
      promptTokens: g.promptTokens,
      ...(vocab ? { tokenBytes: g.ids.map(bytesOf) } : {}),
      ...(top ? { topLogprobs: top } : {}),
    };
  } finally {
    inflight.delete(m.id);
  }
}

async function embed(e: HostingEngine, m: Extract<HostingCommand, { type: "embed" }>): Promise<EmbedResult> {
  if (!served.has(m.endpointId)) throw new UnknownModelError(m.endpointId, [...served.keys()]);
  const limit = e.config.maxPositions - 1;
  const inputs = await Promise.all(
    m.inputs.map(async (x, i) => {
      const ids = x.kind === "ids" ? x.ids : await encode(e, x);
      if (ids.length <= limit) return ids;
      if (m.truncate === "NONE")
        throw new InvalidRequestError(
          `inputs[${i}] has ${ids.length} tokens; the model's context is ${limit + 1}: shorten it or set truncate START or END`,
        );
      return m.truncate === "START" ? ids.slice(ids.length - limit) : ids.slice(0, limit);
    }),
  );
  const out = await e.embed({ adapter: served.get(m.endpointId)!, inputs });
  return { embeddings: out.embeddings.map((v) => [...v]), promptTokens: out.promptTokens };
}

async function encode(e: HostingEngine, p: PromptInput): Promise<number[]> {
  if (p.kind === "ids") return p.ids;
  const tok = e.tokenizer;
  if (!tok) throw new InvalidRequestError("this model has no tokenizer (no tokenizer.json): send the prompt as token ids");
  if (p.kind === "text") return tok.encode(p.text, { addSpecialTokens: true });
  if (!p.tools?.length)
    return tok.encodeChat(
      p.messages.map((x) => ({ ...x })),
      { addGenerationPrompt: true },
    );
  // a template that renders tools gets them as transformers passes them; others get Sprig's default prompt
  if (templateTakesTools(tok.chatTemplate))
    return tok.encodeChat(
      p.messages.map((x) => ({ ...x })),
      { addGenerationPrompt: true, variables: { tools: p.tools.map((t) => ({ type: "function", function: t })) } },
    );
  return tok.encodeChat(
    withDefaultToolPrompt(p.messages, p.tools).map((x) => ({ ...x })),
    { addGenerationPrompt: true },
  );
}
