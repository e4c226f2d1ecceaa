// The minimal HTTP face of the hosting engine for `sprig host` (the service wraps the engine later):
// POST /generate (JSON, or SSE with "stream": true), POST /adapters/NAME/activate|deactivate,
// GET /adapters, GET /stats, GET /health. Errors are JSON {error: {status, reason, message}}.

import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import { z } from "zod";
import { HostingError, InvalidRequestError } from "../../serving/errors.ts";
import type { HostingEngine, SubmitRequest } from "../../serving/hosting-engine.ts";
import type { HostedGeneration } from "../../serving/hosted-request.ts";

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

const ActivateBody = z.object({ dir: z.string().min(1) }).strict();
const DeactivateBody = z.object({ cancel_in_flight: z.boolean().default(false) }).strict();

export function createHostServer(engine: HostingEngine): Server {
  return createServer((req, res) => {
    route(engine, req, res).catch((e: unknown) => sendError(res, e));
  });
}

async function route(engine: HostingEngine, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://localhost");
  const path = url.pathname;
  const adapter = /^\/adapters\/([^/]+)\/(activate|deactivate)$/.exec(path);
  if (req.method === "GET" && path === "/health") return send(res, 200, { ok: true });
  if (req.method === "GET" && path === "/stats") return send(res, 200, engine.stats());
  if (req.method === "GET" && path === "/adapters") return send(res, 200, { data: engine.stats().models });
  if (req.method === "POST" && path === "/generate") return generate(engine, req, res);
  if (req.method === "POST" && adapter) {
    const name = decodeURIComponent(adapter[1]!);
    if (adapter[2] === "activate") {
      const body = parse(ActivateBody, await readJson(req));
      return send(res, 200, await engine.activate(name, body.dir));
    }
    const body = parse(DeactivateBody, await readJson(req, true));
    const drained = engine.deactivate(name, { cancelInFlight: body.cancel_in_flight });
    // new requests are refused from now on; answer at once rather than wait for long generations to drain
    const state = await Promise.race([drained.then(() => "deactivated" as const), new Promise<"draining">((r) => setImmediate(() => r("draining")))]);
    drained.catch(() => {});
    return send(res, state === "deactivated" ? 200 : 202, { name, state });
  }
  throw new HostingError(`no route ${req.method} ${path}`, 404, "not_found");
}

async function generate(engine: HostingEngine, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const b = parse(GenerateBody, await readJson(req));
  let promptIds = b.prompt_ids;
  if (b.prompt !== undefined) {
    if (!engine.tokenizer) throw new InvalidRequestError("this model has no tokenizer: send prompt_ids");
    promptIds = await engine.tokenizer.encode(b.prompt, { addSpecialTokens: true });
  }
  const ac = new AbortController();
  // a client that goes away cancels its request and frees its batch slot
  res.on("close", () => {
    if (!res.writableFinished) ac.abort();
  });
  const submit: SubmitRequest = {
    adapter: b.adapter ?? null,
    promptIds: promptIds!,
    signal: ac.signal,
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
  if (!b.stream) return send(res, 200, result(await engine.submit(submit)));
  const events = engine.stream(submit); // refusals throw here, before any header is sent
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  try {
    for await (const ev of events) {
      if (ev.type === "token") res.write(`data: ${JSON.stringify(ev.token)}\n\n`);
      else res.write(`event: done\ndata: ${JSON.stringify(result(ev.generation))}\n\n`);
    }
  } catch (e) {
    if (!res.destroyed) res.write(`event: error\ndata: ${JSON.stringify(errorBody(e))}\n\n`);
  }
  res.end();
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
  if (!r.success) throw new InvalidRequestError(r.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "));
  return r.data;
}

async function readJson(req: IncomingMessage, emptyOk = false): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw new HostingError(`request body over ${MAX_BODY} bytes`, 413, "too_large");
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (!text && emptyOk) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidRequestError("the body is not valid JSON");
  }
}

function errorBody(e: unknown): { error: { status: number; reason: string; message: string } } {
  if (e instanceof HostingError) return { error: { status: e.status, reason: e.reason, message: e.message } };
  return { error: { status: 500, reason: "internal", message: e instanceof Error ? e.message : String(e) } };
}

function sendError(res: ServerResponse, e: unknown): void {
  const body = errorBody(e);
  if (res.headersSent) return void res.end();
  send(res, body.error.status, body);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(`${JSON.stringify(body)}\n`);
}
