// One request's decoding state: its sampler, stop conditions (stop ids, stop sequences, max tokens, the
// position limit), incremental detokenization and the growing result. Shared by fixed-batch `generate`
// and the continuous-batching hosting engine, so both stop and stream identically.

import type { ModelConfig, SprigTokenizer } from "../models/index.ts";
import { FormatError, constraintFor } from "./constrained/format.ts";
import type { JsonMatcher } from "./constrained/matcher.ts";
import { logSumExp as logSumExpOf, topKKeys, idOf } from "./logits.ts";
import { Sampler, type SamplingOptions } from "./sampling.ts";

export type FinishReason = "stop" | "length";

export interface Generation {
  /** generated ids, prompt excluded, stop token excluded */
  ids: number[];
  /** log-probability of each generated id under the model's raw distribution */
  logprobs: number[];
  /** decoded text (cut before a stop sequence), or null without a tokenizer */
  text: string | null;
  finishReason: FinishReason;
  /** with `topLogprobs` > 0: per generated id, the most likely ids of that step (raw distribution), best first */
  topLogprobs?: { id: number; logprob: number }[][];
}

export class GenerationError extends Error {
  override name = "GenerationError";
}

/** Why a prompt cannot be generated from, or null when it can. */
export function promptProblem(cfg: ModelConfig, p: readonly number[]): string | null {
  if (p.length === 0) return "prompt is empty: give at least one token (e.g. BOS)";
  const bad = p.find((t) => !Number.isInteger(t) || t < 0 || t >= cfg.vocabSize);
  if (bad !== undefined) return `token id ${bad} is outside the vocabulary [0, ${cfg.vocabSize})`;
  if (p.length >= cfg.maxPositions) return `prompt has ${p.length} tokens; the model's context is ${cfg.maxPositions}`;
  return null;
}

export class Sequence {
  readonly sampler: Sampler;
  readonly out: Generation;
  /** positions of this sequence in the KV cache once its last emitted token is fed */
  len: number;
  done = false;
  private readonly stopIds: Set<number>;
  private readonly decoder: ReturnType<SprigTokenizer["incrementalDecoder"]> | null;
  private text = "";
  /** the JSON matcher when the output is constrained (`responseFormat`) */
  private readonly constraint: JsonMatcher | null;
  /** most tokens this sequence can still emit before its position limit or maxTokens */
  private readonly maxNew: number;

  constructor(
    cfg: ModelConfig,
    readonly prompt: readonly number[],
    readonly opts: SamplingOptions,
    tokenizer: SprigTokenizer | null,
    /** cache positions this sequence may reach (≤ the model's context) */
    readonly limit: number,
  ) {
    if (opts.stop.length && !tokenizer) throw new GenerationError("stop sequences need a tokenizer; this model has none");
    this.sampler = new Sampler(opts, prompt);
    this.stopIds = new Set([...opts.stopTokens, ...cfg.eosTokenIds]);
    this.decoder = tokenizer?.incrementalDecoder({ skipSpecialTokens: true }) ?? null;
    this.out = {
      ids: [],
      logprobs: [],
      text: tokenizer ? "" : null,
      finishReason: "length",
      ...(opts.topLogprobs > 0 ? { topLogprobs: [] } : {}),
    };
    this.len = prompt.length;
    const bad = Object.keys(opts.logitBias).find((k) => Number(k) >= cfg.vocabSize);
    if (bad !== undefined) throw new GenerationError(`logit bias: token id ${bad} is outside the vocabulary [0, ${cfg.vocabSize})`);
    this.maxNew = Math.max(1, Math.min(opts.maxTokens, limit - prompt.length));
    try {
      this.constraint = constraintFor(opts.responseFormat, tokenizer, this.stopIds, this.maxNew);
    } catch (e) {
      throw e instanceof FormatError ? new GenerationError(e.message) : e;
    }
  }

  /** Positions one sequence reserves: prompt + max new tokens, capped by the model's context. */
  static limitFor(cfg: ModelConfig, prompt: readonly number[], opts: SamplingOptions): number {
    return Math.min(cfg.maxPositions, prompt.length + opts.maxTokens);
  }

  /** The token to feed at the next step (the last emitted one). */
  get lastId(): number {
    return this.out.ids[this.out.ids.length - 1] ?? 0;
  }

  /**
   * Pick the next token from this sequence's logits (V). Calls `emit` with the token and its text delta
   * ("" without a tokenizer) unless it is a stop token; sets `done` when generation ends. `logSumExp` of
   * the row (the runner's StepOutput.logsumexp) saves the sampler a pass over the vocabulary.
   */
  accept(logits: Float32Array, emit?: (id: number, delta: string, logprob: number) => void, logSumExp?: number): void {
    if (this.done) return;
    const c = this.constraint;
    if (c) c.budget = this.maxNew - this.out.ids.length - 1;
    const { id, logprob } = this.sampler.pick(logits, logSumExp, c ?? undefined);
    const s = this.opts;
    // a constraint that allows nothing (a vocabulary without the bytes the document needs) ends the row
    if (id < 0 || this.stopIds.has(id)) return this.finish("stop");
    c?.advance(id);
    this.out.ids.push(id);
    this.out.logprobs.push(logprob);
    if (this.out.topLogprobs) {
      const lse = logSumExp ?? logSumExpOf(logits);
      this.out.topLogprobs.push(
        [...topKKeys(logits, Math.min(s.topLogprobs, logits.length))].map((k) => ({ id: idOf(k), logprob: logits[idOf(k)]! - lse })),
      );
    }
    const last = this.out.ids.length >= s.maxTokens || this.len >= this.limit || (c?.finished ?? false);
    // the last token also carries any bytes the decoder still holds, so the deltas add up to the text
    let delta = this.decoder ? this.decoder.push(id) + (last ? this.decoder.flush() : "") : "";
    if (this.decoder) {
      const before = this.text.length;
      this.text += delta;
      const hit = firstStop(this.text, s.stop, Math.max(0, before - maxLen(s.stop)));
      if (hit >= 0) {
        delta = this.text.slice(before, Math.max(before, hit));
        this.text = this.text.slice(0, hit);
        if (delta) emit?.(id, delta, logprob);
        return this.finish("stop");
      }
    }
    emit?.(id, delta, logprob);
    if (last) this.finish(c?.finished ? "stop" : "length");
  }

  private finish(why: FinishReason): void {
    this.done = true;
    this.out.finishReason = why;
    // after a stop token, bytes of an incomplete character still held are appended (they were never streamed)
    if (this.decoder) this.out.text = why === "stop" && this.opts.stop.length ? this.text : this.text + this.decoder.flush();
  }
}

function maxLen(xs: readonly string[]): number {
  return xs.reduce((m, x) => Math.max(m, x.length), 0);
}

/** Earliest index at which any stop string occurs in `text` at or after `from`, else -1. */
function firstStop(text: string, stops: readonly string[], from: number): number {
  let best = -1;
  for (const s of stops) {
    const i = text.indexOf(s, from);
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  return best;
}
