// From examples to graph feeds: the seeded train/validation split, the per-epoch order, and batches
// (right padding, labels -100 on prompt and padding, position ids 0..T-1; choice groups for T-Few).

import { type HostTensor, Rng } from "../engine/index.ts";
import type { Example } from "./data.ts";
import { makePackedBatch } from "./packed-choices.ts";

export const IGNORE = -100;
/** padding token id: never attended to by real tokens (right padding under a causal mask) and never scored */
const PAD = 0;

/** A stateless seed for (seed, stream, index): epoch orders and dropout masks stay reproducible on resume. */
export function mixSeed(seed: number, stream: number, index: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x85ebca6b, 0x9e3779b1) >>> 0;
  h = Math.imul(h ^ (stream + 0x27d4eb2f), 0xc2b2ae35) >>> 0;
  h = Math.imul(h ^ (index + 0x165667b1), 0x85ebca6b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

export interface Split {
  train: Example[];
  validation: Example[];
}

/** Seeded split: a share `valSplit` (0 allowed) of the examples is held out, at least one when > 0. */
export function splitExamples(examples: readonly Example[], valSplit: number, seed: number): Split {
  if (!(valSplit >= 0 && valSplit < 1)) throw new RangeError(`validation split must be in [0, 1), got ${valSplit}`);
  const order = new Rng(mixSeed(seed, 1, 0)).shuffle([...examples.keys()]);
  const nVal = valSplit === 0 ? 0 : Math.min(examples.length - 1, Math.max(1, Math.round(examples.length * valSplit)));
  const val = new Set(order.slice(0, nVal));
  // both parts keep file order, so a split is easy to inspect
  return { train: examples.filter((_, i) => !val.has(i)), validation: examples.filter((_, i) => val.has(i)) };
}

/** Example indices for one epoch: a seeded permutation, or file order without shuffling. */
export function epochOrder(n: number, seed: number, epoch: number, shuffle: boolean): number[] {
  const idx = [...Array(n).keys()];
  return shuffle ? new Rng(mixSeed(seed, 2, epoch)).shuffle(idx) : idx;
}

/**
 * What a batch feeds: "labels" — labels (B, T), -100 where not scored; "scored" — score_index (N), the flat
 * positions b·(T-1)+t whose next token is scored, and score_labels (N); "choices" — labels plus the choice
 * groups (see train-graph.ts); "packed" — one row per example with its choices behind the prompt (packed-choices.ts).
 */
export type BatchLayout = "labels" | "scored" | "choices" | "packed";

/** Layouts whose loss is a mean over examples (T-Few's choice losses), not over tokens. */
export const perExampleLoss = (layout: BatchLayout): boolean => layout === "choices" || layout === "packed";

export interface Batch {
  /** input_ids, position_ids (B, T) int64, and the layout's feeds: labels (B, T) int64; or score_index,
   * score_labels (N) int64; or labels + choice_index (E, K) int64, choice_valid (E, K) float32,
   * choice_label (E) int64, row_correct (B) float32 */
  feeds: Record<string, HostTensor>;
  /** rows B and padded length T */
  rows: number;
  length: number;
  /** examples in the batch */
  examples: number;
  /** scored tokens (completion tokens; with choices: those of the correct choices) */
  tokens: number;
  /** non-padding tokens over all rows (what the graph really processes) */
  realTokens: number;
}

/**
 * One batch. Without choices every example is one row: prompt ‖ completion. With choices every answer
 * choice of every example is its own row (an example without choices is a group of one: its completion),
 * and the choice_* feeds say which rows form each example's group.
 */
export function makeBatch(examples: readonly Example[], layout: BatchLayout): Batch {
  if (layout === "packed") return makePackedBatch(examples);
  const choices = layout === "choices";
  const rowsOf = (e: Example) => (choices && e.choices ? e.choices : [e.completion]);
  // scored: chat examples score their assistant turns only (absent: every target token)
  const seqs: Array<{ prompt: number[]; target: number[]; scored?: boolean[]; correct: boolean }> = [];
  const groups: number[][] = [];
  for (const e of examples) {
    const g: number[] = [];
    rowsOf(e).forEach((c, k) => {
      g.push(seqs.length);
      const own = c === e.completion;
      seqs.push({ prompt: e.prompt, target: c, scored: own ? e.scored : undefined, correct: !(choices && e.choices) || k === e.label });
    });
    groups.push(g);
  }
  const B = seqs.length;
  const T = Math.max(...seqs.map((s) => s.prompt.length + s.target.length));
  const ids = new BigInt64Array(B * T).fill(BigInt(PAD));
  const labels = new BigInt64Array(B * T).fill(BigInt(IGNORE));
  const pos = new BigInt64Array(B * T);
  let tokens = 0;
  seqs.forEach((s, b) => {
    const row = b * T;
    s.prompt.forEach((t, i) => (ids[row + i] = BigInt(t)));
    s.target.forEach((t, i) => {
      ids[row + s.prompt.length + i] = BigInt(t);
      if (s.scored?.[i] ?? true) labels[row + s.prompt.length + i] = BigInt(t);
    });
    for (let t = 0; t < T; t++) pos[row + t] = BigInt(t);
    if (s.correct) tokens += s.scored ? s.scored.filter(Boolean).length : s.target.length;
  });
  const feeds: Record<string, HostTensor> = {
    input_ids: { dtype: "int64", shape: [B, T], data: ids },
    position_ids: { dtype: "int64", shape: [B, T], data: pos },
  };
  if (layout !== "scored") feeds.labels = { dtype: "int64", shape: [B, T], data: labels };
  else {
    // position t of row b predicts token t+1: completion tokens at p ≥ prompt length are scored from p-1
    const index: bigint[] = [];
    const target: bigint[] = [];
    seqs.forEach((s, b) =>
      s.target.forEach((t, i) => {
        if (!(s.scored?.[i] ?? true)) return;
        index.push(BigInt(b * (T - 1) + s.prompt.length + i - 1));
        target.push(BigInt(t));
      }),
    );
    feeds.score_index = { dtype: "int64", shape: [index.length], data: BigInt64Array.from(index) };
    feeds.score_labels = { dtype: "int64", shape: [target.length], data: BigInt64Array.from(target) };
  }
  if (choices) {
    const E = groups.length;
    const K = Math.max(...groups.map((g) => g.length));
    const index = new BigInt64Array(E * K); // padding choices point at row 0 and are masked out
    const valid = new Float32Array(E * K);
    groups.forEach((g, e) => g.forEach((r, k) => ((index[e * K + k] = BigInt(r)), (valid[e * K + k] = 1))));
    feeds.choice_index = { dtype: "int64", shape: [E, K], data: index };
    feeds.choice_valid = { dtype: "float32", shape: [E, K], data: valid };
    feeds.choice_label = { dtype: "int64", shape: [E], data: BigInt64Array.from(examples, (e) => BigInt(e.choices ? e.label! : 0)) };
    feeds.row_correct = { dtype: "float32", shape: [B], data: Float32Array.from(seqs, (s) => (s.correct ? 1 : 0)) };
  }
  const realTokens = seqs.reduce((a, s) => a + s.prompt.length + s.target.length, 0);
  return { feeds, rows: B, length: T, examples: examples.length, tokens, realTokens };
}
