// Byte-level BPE training: count pre-tokens, then repeatedly merge the most frequent adjacent symbol pair
// (ties: the pair of smallest ids, as the `tokenizers` trainer breaks them) until the vocabulary is full.
// Pair counts are kept incrementally with a lazy max-heap, so each merge only touches words containing it.

import { BYTE_ALPHABET, preTokenize, toByteSymbols } from "./byte-level.ts";
import { PairHeap } from "./pair-heap.ts";

export interface BpeOptions {
  /** total vocabulary including special tokens and the 256 byte symbols */
  vocabSize: number;
  /** special tokens, given ids 0.. in this order */
  specialTokens: readonly string[];
  /** a pair must occur at least this often to be merged (default 2) */
  minFrequency?: number;
}

export interface BpeModel {
  /** token strings by id: specials, byte alphabet, then one token per merge */
  vocab: string[];
  /** merges in rank order, as (left, right) token strings */
  merges: [string, string][];
}

/** Pre-token (as text) -> occurrences, over some documents. */
export function countWords(texts: Iterable<string>, into: Map<string, number> = new Map()): Map<string, number> {
  for (const t of texts) for (const w of preTokenize(t)) into.set(w, (into.get(w) ?? 0) + 1);
  return into;
}

const pairKey = (a: number, b: number): number => a * 65536 + b;

export function trainBpe(wordCounts: ReadonlyMap<string, number>, o: BpeOptions): BpeModel {
  const minFrequency = o.minFrequency ?? 2;
  if (o.vocabSize > 65536) throw new Error("vocabSize above 65536 is not supported");
  const vocab = [...o.specialTokens, ...BYTE_ALPHABET];
  if (o.vocabSize < vocab.length) throw new Error(`vocabSize ${o.vocabSize} is below the ${vocab.length} special and byte tokens`);
  const ids = new Map(vocab.map((t, i) => [t, i]));

  // words in a deterministic order (sorted), each a mutable array of symbol ids
  const entries = [...wordCounts.entries()].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const words = entries.map(([w]) => toByteSymbols(w).map((s) => ids.get(s)!));
  const freq = entries.map(([, n]) => n);

  const counts = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  const add = (a: number, b: number, wi: number, n: number) => {
    const k = pairKey(a, b);
    counts.set(k, (counts.get(k) ?? 0) + n);
    if (n > 0) {
      let s = where.get(k);
      if (!s) where.set(k, (s = new Set()));
      s.add(wi);
    }
  };
  words.forEach((w, wi) => {
    for (let i = 0; i + 1 < w.length; i++) add(w[i]!, w[i + 1]!, wi, freq[wi]!);
  });
  const heap = new PairHeap();
  for (const [k, n] of counts) heap.push(k, n);

  const merges: [string, string][] = [];
  while (vocab.length < o.vocabSize) {
    const top = heap.pop();
    if (!top) break;
    const current = counts.get(top.key) ?? 0;
    if (current !== top.count) {
      if (current > 0) heap.push(top.key, current); // stale entry: re-queue with the live count
      continue;
    }
    if (current < minFrequency) break;
    const a = Math.floor(top.key / 65536);
    const b = top.key % 65536;
    const merged = vocab[a]! + vocab[b]!;
    let id = ids.get(merged);
    if (id === undefined) {
      id = vocab.length;
      vocab.push(merged);
      ids.set(merged, id);
    }
    merges.push([vocab[a]!, vocab[b]!]);
    const touched = new Set<number>();
    for (const wi of [...(where.get(top.key) ?? [])]) {
      const w = words[wi]!;
      const n = freq[wi]!;
      // remove the word's old pairs, merge left to right, add its new pairs
      for (let i = 0; i + 1 < w.length; i++) add(w[i]!, w[i + 1]!, wi, -n);
      const out: number[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
          out.push(id);
          i++;
        } else out.push(w[i]!);
      }
      words[wi] = out;
      for (let i = 0; i + 1 < out.length; i++) {
        add(out[i]!, out[i + 1]!, wi, n);
        touched.add(pairKey(out[i]!, out[i + 1]!));
      }
    }
    counts.delete(top.key);
    where.delete(top.key);
    for (const k of touched) heap.push(k, counts.get(k)!);
  }
  return { vocab, merges };
}
