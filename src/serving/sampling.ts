// Next-token selection from one row of logits: penalties, temperature, top-k, top-p, seeded sampling.
// Runs in JS on (V) floats per row per step — small next to the model step itself.

import { z } from "zod";
import { Rng } from "../engine/index.ts";

export const SamplingSchema = z
  .object({
    /** 0 = greedy (argmax); otherwise logits are divided by it before sampling */
    temperature: z.number().min(0).max(100).default(1),
    /** keep only the k most likely tokens; 0 = off */
    topK: z.number().int().min(0).default(0),
    /** keep the smallest set of tokens whose probability reaches p; 1 = off */
    topP: z.number().gt(0).max(1).default(1),
    /** HF-style: logits of tokens already in prompt or output are divided (if > 0) or multiplied by it; 1 = off */
    repetitionPenalty: z.number().gt(0).default(1),
    /** OpenAI-style: subtract penalty × count of the token in the output so far */
    frequencyPenalty: z.number().min(-2).max(2).default(0),
    /** OpenAI-style: subtract penalty once if the token occurred in the output so far */
    presencePenalty: z.number().min(-2).max(2).default(0),
    /** seed of this request's sampler; the same seed gives the same tokens */
    seed: z.number().int().default(0),
    /** most new tokens to generate */
    maxTokens: z.number().int().min(1).default(64),
    /** generation stops (the token is not emitted) on any of these ids; the model's EOS ids are added */
    stopTokens: z.array(z.number().int().min(0)).default([]),
    /** generation stops when the text contains any of these; the text is cut before it */
    stop: z.array(z.string().min(1)).max(16).default([]),
  })
  .strict();

export type SamplingOptions = z.infer<typeof SamplingSchema>;
export type SamplingInput = z.input<typeof SamplingSchema>;

export function samplingOptions(input: SamplingInput = {}): SamplingOptions {
  return SamplingSchema.parse(input);
}

/** Per-request sampler state: its RNG and the counts the penalties need. */
export class Sampler {
  private readonly rng: Rng;
  private readonly outputCounts = new Map<number, number>();
  private readonly seen: Set<number>;

  constructor(
    readonly opts: SamplingOptions,
    promptIds: readonly number[],
  ) {
    this.rng = new Rng(opts.seed);
    this.seen = new Set(promptIds);
  }

  /** Pick the next token from raw logits (V); returns the id and its log-probability under the raw logits. */
  pick(raw: Float32Array): { id: number; logprob: number } {
    const o = this.opts;
    const logits = Float64Array.from(raw);
    if (o.repetitionPenalty !== 1) {
      for (const t of this.seen) logits[t] = logits[t]! > 0 ? logits[t]! / o.repetitionPenalty : logits[t]! * o.repetitionPenalty;
    }
    if (o.frequencyPenalty !== 0 || o.presencePenalty !== 0) {
      for (const [t, c] of this.outputCounts) logits[t] = logits[t]! - o.frequencyPenalty * c - o.presencePenalty;
    }
    const id = o.temperature === 0 ? argmax(logits) : this.sample(logits);
    this.seen.add(id);
    this.outputCounts.set(id, (this.outputCounts.get(id) ?? 0) + 1);
    return { id, logprob: logSoftmaxAt(raw, id) };
  }

  private sample(logits: Float64Array): number {
    const o = this.opts;
    // candidates sorted by logit, descending; top-k first since it bounds the sort
    let order = Array.from(logits.keys());
    order.sort((a, b) => logits[b]! - logits[a]!);
    if (o.topK > 0) order = order.slice(0, o.topK);
    const m = logits[order[0]!]!;
    let probs = order.map((t) => Math.exp((logits[t]! - m) / o.temperature));
    let total = probs.reduce((a, b) => a + b, 0);
    if (o.topP < 1) {
      let acc = 0;
      let keep = 0;
      while (keep < probs.length && acc < o.topP * total) acc += probs[keep++]!;
      order = order.slice(0, Math.max(keep, 1));
      probs = probs.slice(0, order.length);
      total = probs.reduce((a, b) => a + b, 0);
    }
    let r = this.rng.next() * total;
    for (let i = 0; i < order.length; i++) {
      r -= probs[i]!;
      if (r <= 0) return order[i]!;
    }
    return order[order.length - 1]!;
  }
}

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

export function logSoftmaxAt(x: Float32Array, i: number): number {
  let m = -Infinity;
  for (let j = 0; j < x.length; j++) if (x[j]! > m) m = x[j]!;
  let s = 0;
  for (let j = 0; j < x.length; j++) s += Math.exp(x[j]! - m);
  return x[i]! - m - Math.log(s);
}
