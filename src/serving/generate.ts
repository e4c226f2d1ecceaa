// Batched generation for a fixed set of prompts: one batched prefill, then decode steps until every row
// stops (stop token, stop sequence or max tokens). The continuous-batching engine builds on the same runner.

import type { SprigTokenizer } from "../models/index.ts";
import type { ModelRunner } from "./model-runner.ts";
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
}

export interface GenerateOptions {
  tokenizer?: SprigTokenizer | null;
  /** called for each emitted token of row `row` with its text delta ("" without a tokenizer) */
  onToken?: (row: number, id: number, delta: string) => void;
}

export class GenerationError extends Error {
  override name = "GenerationError";
}

export async function generate(
  runner: ModelRunner,
  prompts: readonly (readonly number[])[],
  sampling: readonly SamplingOptions[],
  opts: GenerateOptions = {},
): Promise<Generation[]> {
  const cfg = runner.model.config;
  if (prompts.length === 0) return [];
  prompts.forEach((p, i) => {
    if (p.length === 0) throw new GenerationError(`prompt ${i} is empty: give at least one token (e.g. BOS)`);
    const bad = p.find((t) => !Number.isInteger(t) || t < 0 || t >= cfg.vocabSize);
    if (bad !== undefined) throw new GenerationError(`prompt ${i}: token id ${bad} is outside the vocabulary [0, ${cfg.vocabSize})`);
    if (p.length >= cfg.maxPositions) throw new GenerationError(`prompt ${i} has ${p.length} tokens; the model's context is ${cfg.maxPositions}`);
  });
  const tok = opts.tokenizer ?? null;
  const capacity = Math.min(cfg.maxPositions, Math.max(...prompts.map((p, i) => p.length + sampling[i]!.maxTokens)));
  const cache = runner.newCache(prompts.length, capacity);
  const rows = prompts.map((p, i) => {
    const s = sampling[i]!;
    if (s.stop.length && !tok) throw new GenerationError("stop sequences need a tokenizer; this model has none");
    return {
      sampler: new Sampler(s, p),
      stopIds: new Set([...s.stopTokens, ...cfg.eosTokenIds]),
      decoder: tok?.incrementalDecoder({ skipSpecialTokens: true }) ?? null,
      text: "",
      out: { ids: [] as number[], logprobs: [] as number[], text: tok ? "" : null, finishReason: "length" as FinishReason } as Generation,
      done: false,
      len: p.length,
    };
  });

  let logits = await runner.step(cache, prompts.map((p) => ({ ids: p, pastLen: 0 })));
  for (;;) {
    rows.forEach((r, b) => {
      if (r.done) return;
      const { id, logprob } = r.sampler.pick(logits[b]!);
      const s = r.sampler.opts;
      if (r.stopIds.has(id)) return finish(r, "stop");
      r.out.ids.push(id);
      r.out.logprobs.push(logprob);
      let delta = r.decoder ? r.decoder.push(id) : "";
      if (r.decoder) {
        const before = r.text.length;
        r.text += delta;
        const hit = firstStop(r.text, s.stop, Math.max(0, before - maxLen(s.stop)));
        if (hit >= 0) {
          delta = r.text.slice(before, Math.max(before, hit));
          r.text = r.text.slice(0, hit);
          if (delta) opts.onToken?.(b, id, delta);
          return finish(r, "stop");
        }
      }
      opts.onToken?.(b, id, delta);
      if (r.out.ids.length >= s.maxTokens || r.len >= capacity) finish(r, "length");
    });
    if (rows.every((r) => r.done)) break;
    // finished rows still occupy their slot; they re-feed a token whose result is ignored
    logits = await runner.step(
      cache,
      rows.map((r) => ({ ids: [r.out.ids[r.out.ids.length - 1] ?? 0], pastLen: r.done ? 0 : r.len })),
    );
    rows.forEach((r) => {
      if (!r.done) r.len++;
    });
  }
  return rows.map((r) => r.out);

  function finish(r: (typeof rows)[number], why: FinishReason): void {
    r.done = true;
    r.out.finishReason = why;
    if (r.decoder) r.out.text = why === "stop" && r.sampler.opts.stop.length ? r.text : r.text + r.decoder.flush();
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
