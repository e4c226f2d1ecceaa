// Shared by both inference APIs: run n generations of one request (seeds seed, seed+1, …) against an
// endpoint, streaming each one's text deltas with its index; and answer it as a stream or one response.

import type { FastifyReply, FastifyRequest } from "fastify";
import {
  type ActiveEndpoint,
  type ControlPlane,
  type InferenceResult,
  type InferenceSampling,
  type PromptInput,
  type ResponseFormat,
  type Scope,
  badRequest,
} from "../control/index.ts";
import { streamErrorBody } from "./errors.ts";
import { type SseStream, clientGone, openSse } from "./sse.ts";

export interface SamplingFields {
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  seed?: number;
  stop?: string | string[] | null;
  frequencyPenalty?: number;
  presencePenalty?: number;
  /** token id → bias */
  logitBias?: Record<string, number> | null;
  topLogprobs?: number;
  responseFormat?: ResponseFormat;
}

/** Defaults as OpenAI's: temperature 1, top_p 1, no top-k; 256 new tokens unless asked. */
export function sampling(f: SamplingFields): InferenceSampling {
  const stop = f.stop == null ? [] : Array.isArray(f.stop) ? f.stop : [f.stop];
  if (stop.some((s) => s.length === 0)) throw badRequest("stop: stop sequences must not be empty");
  return {
    maxTokens: f.maxTokens ?? 256,
    temperature: f.temperature ?? 1,
    topP: f.topP ?? 1,
    topK: f.topK ?? 0,
    seed: f.seed ?? Math.floor(Math.random() * 2 ** 31),
    stop,
    frequencyPenalty: f.frequencyPenalty ?? 0,
    presencePenalty: f.presencePenalty ?? 0,
    ...(f.logitBias && Object.keys(f.logitBias).length ? { logitBias: logitBias(f.logitBias) } : {}),
    ...(f.topLogprobs ? { topLogprobs: f.topLogprobs } : {}),
    ...(f.responseFormat ? { responseFormat: f.responseFormat } : {}),
  };
}

function logitBias(b: Record<string, number>): Record<string, number> {
  const bad = Object.keys(b).find((k) => !/^\d+$/.test(k));
  if (bad !== undefined) throw badRequest(`logit_bias: keys are token ids, not ${JSON.stringify(bad)}`);
  return b;
}

/** n generations of one request against one endpoint. */
export interface Generated {
  endpointId: string;
  modelId: string;
  results: InferenceResult[];
}

export async function generateN(
  cp: ControlPlane,
  scope: Scope,
  o: {
    endpoint: string | ActiveEndpoint;
    prompt: PromptInput;
    sampling: InferenceSampling;
    n: number;
    signal?: AbortSignal;
    onToken?: (index: number, delta: string) => void;
  },
): Promise<Generated> {
  // resolve first, so a bad endpoint is one error and not n
  const e = await cp.inference.target(scope, o.endpoint);
  const runs = Array.from({ length: o.n }, (_, i) =>
    cp.inference.generate(scope, {
      endpoint: e,
      prompt: o.prompt,
      sampling: { ...o.sampling, seed: o.sampling.seed + i },
      signal: o.signal,
      onToken: o.onToken && ((d) => o.onToken!(i, d)),
    }),
  );
  const done = await Promise.all(runs);
  return { endpointId: e.id, modelId: e.modelId, results: done.map((d) => d.result) };
}

/** How a route streams, once its stream is open: what it sends first, per text delta, and at the end. */
export interface StreamShape {
  /** sent before generation starts (OpenAI's role chunks) */
  open?(): void;
  delta(index: number, text: string): void;
  end(out: Generated): void;
}

export interface AnswerCall {
  /** id or display name, or the endpoint the route already resolved */
  endpoint: string | ActiveEndpoint;
  prompt: PromptInput;
  sampling: InferenceSampling;
  n: number;
  stream: boolean;
  /** the response format's check of the finished documents (structured output) */
  check?: (results: readonly InferenceResult[], stops: readonly string[]) => void;
  /** how the stream ends: OpenAI's `data: [DONE]`, or OCI's plain end */
  terminator: "done" | "end";
}

/** One inference request answered the same way by every route: as one response (`respond`), or as a stream
 *  (`stream` true) whose endpoint is checked before the headers go out (so a refusal is an error response),
 *  whose documents are checked at the end, and whose failure after the headers is the stream's error event. */
export async function answer<T>(
  cp: ControlPlane,
  scope: Scope,
  http: { req: FastifyRequest; reply: FastifyReply },
  call: AnswerCall,
  shape: (sse: SseStream, endpointId: string) => StreamShape,
  respond: (out: Generated) => T,
): Promise<T | undefined> {
  const target = await cp.inference.target(scope, call.endpoint);
  const run = (signal: AbortSignal, onToken?: (index: number, delta: string) => void) =>
    generateN(cp, scope, { endpoint: target, prompt: call.prompt, sampling: call.sampling, n: call.n, signal, onToken });
  if (!call.stream) {
    const out = await run(clientGone(http.reply));
    call.check?.(out.results, call.sampling.stop);
    return respond(out);
  }
  const sse = openSse(http.req, http.reply);
  const s = shape(sse, target.id);
  try {
    s.open?.();
    const out = await run(sse.signal, (index, text) => text && s.delta(index, text));
    call.check?.(out.results, call.sampling.stop);
    s.end(out);
  } catch (e) {
    sse.send(streamErrorBody(e));
  }
  if (call.terminator === "done") sse.done();
  else sse.end();
  return undefined;
}
