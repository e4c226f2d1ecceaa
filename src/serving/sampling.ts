// Next-token selection from one row of logits: penalties, temperature, top-k, top-p, seeded sampling.
// Runs in JS on (V) floats per row per step, so it must stay small next to the model step: no copies without
// penalties, no full sorts (see logits.ts).

import { z } from "zod";
import { Rng } from "../engine/index.ts";
import type { TokenConstraint } from "./constrained/matcher.ts";
import { argmax, idOf, keysAtLeast, logSumExp as logSumExpOf, topKKeys } from "./logits.ts";

/** What the output must be: free text, any JSON object, or JSON matching a schema (constrained decoding). */
export const ResponseFormatSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("text") }),
  z.strictObject({ type: z.literal("json_object") }),
  z.strictObject({ type: z.literal("json_schema"), schema: z.union([z.record(z.string(), z.unknown()), z.boolean()]) }),
]);
export type ResponseFormat = z.infer<typeof ResponseFormatSchema>;

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
    /** OpenAI-style: added to the logit of each token id (keys are ids) before any other step; -100 bans, 100 forces */
    logitBias: z.record(z.string().regex(/^\d+$/, "keys are token ids"), z.number().min(-100).max(100)).default({}),
    /** also report, per generated token, this many most likely tokens with their log-probabilities */
    topLogprobs: z.number().int().min(0).max(20).default(0),
    /** constrain the output to JSON (see src/serving/constrained); null or text = free */
    responseFormat: ResponseFormatSchema.nullable().default(null),
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
  private readonly bias: [number, number][];

  constructor(
    readonly opts: SamplingOptions,
    promptIds: readonly number[],
  ) {
    this.rng = new Rng(opts.seed);
    this.seen = new Set(promptIds);
    this.bias = Object.entries(opts.logitBias).map(([k, v]) => [Number(k), v]);
  }

  /**
   * Pick the next token from raw logits (V); returns the id and its log-probability under the raw logits.
   * `logSumExp` of the raw row, when the caller has it (the runner's graph computes it), saves a pass.
   * A `constraint` masks the ids it does not allow after bias and penalties, before temperature, top-k and
   * top-p. Where that gives the same choice, the unmasked pick is tried first and the mask built only if
   * the constraint refuses it: greedy (the argmax of the allowed ids), and plain temperature sampling (a
   * refused draw followed by a draw from the allowed ids picks each allowed id with probability p/P(allowed)).
   * Returns id -1 when the constraint allows nothing.
   */
  pick(raw: Float32Array, logSumExp?: number, constraint?: TokenConstraint): { id: number; logprob: number } {
    const o = this.opts;
    let logits = raw;
    if (o.repetitionPenalty !== 1 || o.frequencyPenalty !== 0 || o.presencePenalty !== 0 || this.bias.length) {
      logits = Float32Array.from(raw);
      for (const [t, b] of this.bias) if (t < logits.length) logits[t] = logits[t]! + b;
      if (o.repetitionPenalty !== 1) {
        for (const t of this.seen) logits[t] = logits[t]! > 0 ? logits[t]! / o.repetitionPenalty : logits[t]! * o.repetitionPenalty;
      }
      for (const [t, c] of this.outputCounts) logits[t] = logits[t]! - o.frequencyPenalty * c - o.presencePenalty;
    }
    const choose = (x: Float32Array) => (o.temperature === 0 ? argmax(x) : this.sample(x));
    let id: number;
    if (!constraint) id = choose(logits);
    else {
      const fast = o.temperature === 0 || (o.topK === 0 && o.topP === 1);
      id = fast ? choose(logits) : -1;
      if (id < 0 || !constraint.allows(id)) {
        const ok = constraint.mask();
        const masked = new Float32Array(logits.length).fill(-Infinity);
        let any = false;
        for (let i = 0; i < ok.length; i++) {
          if (!ok[i]) continue;
          masked[i] = logits[i]!;
          any = true;
        }
        if (!any) return { id: -1, logprob: -Infinity };
        id = choose(masked);
      }
    }
    this.seen.add(id);
    this.outputCounts.set(id, (this.outputCounts.get(id) ?? 0) + 1);
    return { id, logprob: raw[id]! - (logSumExp ?? logSumExpOf(raw)) };
  }

  /**
   * Temperature sampling over the candidates in descending logit order (ties by id): the top-k if set, then
   * the smallest prefix reaching top-p of their mass. Only candidates that can matter are ever sorted.
   */
  private sample(logits: Float32Array): number {
    const o = this.opts;
    let keys = o.topK > 0 && o.topK < logits.length ? topKKeys(logits, o.topK) : null;
    const m = logits[keys ? idOf(keys[0]!) : argmax(logits)]!;
    const weight = (k: number) => Math.exp((logits[idOf(k)]! - m) / o.temperature);
    let total = 0;
    if (keys) for (const k of keys) total += weight(k);
    else for (let id = 0; id < logits.length; id++) total += Math.exp((logits[id]! - m) / o.temperature);
    if (o.topP < 1) {
      keys = leading(logits, keys, m, o.temperature, o.topP * total);
      total = 0;
      for (const k of keys) total += weight(k);
    }
    const chosen = leading(logits, keys, m, o.temperature, this.rng.next() * total);
    return idOf(chosen[chosen.length - 1]!);
  }
}

/**
 * The shortest prefix of `keys` (null: of all tokens, best first) whose weights e^((logit − m)/T) add up to
 * at least `mass`; all of them if rounding keeps the sum short.
 */
function leading(logits: Float32Array, keys: Float64Array | null, m: number, T: number, mass: number): Float64Array {
  const weight = (k: number) => Math.exp((logits[idOf(k)]! - m) / T);
  let ks = keys;
  // without keys, widen a logit floor until the tokens above it hold the mass: only those get sorted
  for (let spread = 8; !ks; spread *= 2) {
    const above = keysAtLeast(logits, spread > 64 ? -Infinity : m - spread * T);
    let held = 0;
    for (const k of above) held += weight(k);
    if (held >= mass || spread > 64) ks = above;
  }
  let acc = 0;
  for (let i = 0; i < ks.length; i++) {
    acc += weight(ks[i]!);
    if (acc >= mass) return ks.subarray(0, i + 1);
  }
  return ks;
}

export { argmax };

export function logSoftmaxAt(x: Float32Array, i: number): number {
  return x[i]! - logSumExpOf(x);
}
