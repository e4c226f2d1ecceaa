// `sprig host`'s HTTP face of one hosting engine, on the same Fastify stack as `sprig serve` (request
// ids, body limit, the SSE helper, errors mapped by api/errors.ts): POST /generate (JSON, or SSE with
// "stream": true), POST /adapters/NAME/activate|deactivate, GET /adapters, GET /stats, GET /health.

import Fastify, { type FastifyInstance } from "fastify";
import { z } from "zod";
import { hostErrorBody, installHostErrorHandling } from "../../api/index.ts";
import { clientGone, openSse } from "../../api/index.ts";
import { InvalidRequestError } from "../../serving/index.ts";
import type { HostingEngine, SubmitRequest } from "../../serving/index.ts";
import type { HostedGeneration } from "../../serving/index.ts";

const MAX_BODY = 1 << 20;

const GenerateBody = z
  .object({
    adapter: z.string().nullable().optional(),
    prompt: z.string().optional(),
    prompt_ids: z.array(z.number().int().min(0)).optional(),
    max_tokens: z.number().int().min(1).optional(),
    temperature: z.number().min(0).optional(),
    top_k: z.number().int().min(0).optional(),
    top_p: z.number().gt(0).max(1).optional(),
    repetition_penalty: z.number().gt(0).optional(),
    frequency_penalty: z.number().optional(),
    presence_penalty: z.number().optional(),
    seed: z.number().int().optional(),
    stop: z.union([z.string(), z.array(z.string())]).optional(),
    stop_token_ids: z.array(z.number().int().min(0)).optional(),
    stream: z.boolean().default(false),
  })
  .strict()
  .refine((b) => (b.prompt === undefined) !== (b.prompt_ids === undefined), { message: "give exactly one of prompt or prompt_ids" });

const ActivateBody = z
  .object({
    dir: z.string().min(1),
    /** keep a table row from the first request on, never evicted to host memory or disk */
    pin: z.boolean().default(false),
  })
  .strict();
const DeactivateBody = z.object({ cancel_in_flight: z.boolean().default(false) }).strict();
const NameParams = z.object({ name: z.string().min(1) });

/** A ready (not yet listening) Fastify app serving `engine`; `app.listen({port, host})` starts it. */
export async function createHostServer(engine: HostingEngine): Promise<FastifyInstance> {
  const app = Fastify({ bodyLimit: MAX_BODY, exposeHeadRoutes: false, logger: false });
  // deactivate may be sent with no body at all, as curl does
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => {
    const text = String(body).trim();
    if (!text) return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new InvalidRequestError("the body is not valid JSON"), undefined);
    }
  });
  installHostErrorHandling(app);

  app.get("/health", async () => ({ ok: true }));
  app.get("/stats", async () => engine.stats());
  app.get("/adapters", async () => ({ data: engine.stats().models }));
  app.post("/adapters/:name/activate", async (req) => {
    const { name } = NameParams.parse(req.params);
    const body = parse(ActivateBody, req.body);
    return engine.activate(name, body.dir, { pin: body.pin });
  });
  app.post("/adapters/:name/deactivate", async (req, reply) => {
    const { name } = NameParams.parse(req.params);
    const body = parse(DeactivateBody, req.body ?? {});
    const drained = engine.deactivate(name, { cancelInFlight: body.cancel_in_flight });
    // new requests are refused from now on; answer at once rather than wait for long generations to drain
    const state = await Promise.race([
      drained.then(() => "deactivated" as const),
      new Promise<"draining">((r) => setImmediate(() => r("draining"))),
    ]);
    drained.catch(() => {});
    return reply.code(state === "deactivated" ? 200 : 202).send({ name, state });
  });
  app.post("/generate", async (req, reply) => {
    const b = parse(GenerateBody, req.body);
    let promptIds = b.prompt_ids;
    if (b.prompt !== undefined) {
      if (!engine.tokenizer) throw new InvalidRequestError("this model has no tokenizer: send prompt_ids");
      promptIds = await engine.tokenizer.encode(b.prompt, { addSpecialTokens: true });
    }
    const submit: SubmitRequest = {
      adapter: b.adapter ?? null,
      promptIds: promptIds!,
      sampling: {
        maxTokens: b.max_tokens,
        temperature: b.temperature,
        topK: b.top_k,
        topP: b.top_p,
        repetitionPenalty: b.repetition_penalty,
        frequencyPenalty: b.frequency_penalty,
        presencePenalty: b.presence_penalty,
        seed: b.seed,
        stop: b.stop === undefined ? undefined : typeof b.stop === "string" ? [b.stop] : b.stop,
        stopTokens: b.stop_token_ids,
      },
    };
    // a client that goes away cancels its request and frees its batch slot
    if (!b.stream) return result(await engine.submit({ ...submit, signal: clientGone(reply) }));
    const ac = new AbortController();
    const events = engine.stream({ ...submit, signal: ac.signal }); // refusals throw here, before any header is sent
    const sse = openSse(req, reply, { contentType: "text/event-stream" });
    reply.raw.flushHeaders(); // the status line goes out on acceptance, before the first token's step
    sse.signal.addEventListener("abort", () => ac.abort());
    try {
      for await (const ev of events) {
        if (ev.type === "token") sse.send(ev.token);
        else sse.event("done", result(ev.generation));
      }
    } catch (e) {
      sse.event("error", hostErrorBody(e));
    }
    sse.end();
  });
  await app.ready();
  return app;
}

function result(g: HostedGeneration) {
  return {
    model: g.model,
    ids: g.ids,
    text: g.text,
    logprobs: g.logprobs,
    finish_reason: g.finishReason,
    usage: { prompt_tokens: g.promptTokens, completion_tokens: g.ids.length },
    timings: g.timings,
  };
}

function parse<T>(schema: z.ZodType<T>, v: unknown): T {
  const r = schema.safeParse(v);
  if (!r.success) throw r.error;
  return r.data;
}
