// Shared by both inference APIs: run n generations of one request (seeds seed, seed+1, …) against an
// endpoint, streaming each one's text deltas with its index.

import {
  type ControlPlane,
  type InferenceResult,
  type InferenceSampling,
  type PromptInput,
  type ResponseFormat,
  type Scope,
  badRequest,
} from "../control/index.ts";

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

export async function generateN(
  cp: ControlPlane,
  scope: Scope,
  o: {
    endpoint: string;
    prompt: PromptInput;
    sampling: InferenceSampling;
    n: number;
    signal?: AbortSignal;
    onToken?: (index: number, delta: string) => void;
  },
): Promise<{ endpointId: string; modelId: string; results: InferenceResult[] }> {
  // resolve first, so a bad endpoint is one error and not n
  const e = await cp.inference.target(scope, o.endpoint);
  const runs = Array.from({ length: o.n }, (_, i) =>
    cp.inference.generate(scope, {
      endpoint: e.id,
      prompt: o.prompt,
      sampling: { ...o.sampling, seed: o.sampling.seed + i },
      signal: o.signal,
      onToken: o.onToken && ((d) => o.onToken!(i, d)),
    }),
  );
  const done = await Promise.all(runs);
  return { endpointId: e.id, modelId: e.modelId, results: done.map((d) => d.result) };
}
