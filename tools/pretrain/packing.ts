// Corpus documents → one token stream (<s> doc </s> <s> doc </s> …) cut into fixed-length chunks, and
// the per-step batches: chunks in a seeded random order, reshuffled each epoch, so step s's batch is a
// pure function of (seed, s) and a resumed run sees exactly the batches an uninterrupted one would.

import { type HostTensor, Rng } from "../../src/engine/index.ts";
import type { SprigTokenizer } from "../../src/models/index.ts";

export interface Chunks {
  /** chunk i is tokens[i·length, (i+1)·length) */
  tokens: Int32Array;
  length: number;
  count: number;
}

/** Tokenize documents as <s> text </s>, concatenated, cut into `length`-token chunks (the tail is dropped). */
export async function packDocuments(docs: readonly string[], tok: SprigTokenizer, length: number): Promise<Chunks> {
  const bos = tok.bosTokenId;
  const eos = tok.eosTokenId;
  if (bos === null || eos === null) throw new Error("the tokenizer needs <s> and </s> to pack documents");
  const stream: number[] = [];
  for (let i = 0; i < docs.length; i += 512) {
    for (const ids of await tok.encodeBatch(docs.slice(i, i + 512) as string[], { addSpecialTokens: false })) {
      stream.push(bos);
      for (const id of ids) stream.push(id);
      stream.push(eos);
    }
  }
  const count = Math.floor(stream.length / length);
  return { tokens: Int32Array.from(stream.slice(0, count * length)), length, count };
}

/** Which chunks step `step` trains on: epoch e visits every chunk once, in the order of permutation(seed, e). */
export class BatchOrder {
  private perms = new Map<number, Uint32Array>();

  constructor(
    private readonly count: number,
    private readonly batchSize: number,
    private readonly seed: number,
  ) {
    if (count < batchSize) throw new Error(`${count} chunks cannot fill a batch of ${batchSize}`);
  }

  private perm(epoch: number): Uint32Array {
    let p = this.perms.get(epoch);
    if (!p) {
      const order = Array.from({ length: this.count }, (_, i) => i);
      p = Uint32Array.from(new Rng(this.seed * 1000 + epoch).shuffle(order));
      this.perms.clear(); // only the current epoch is ever needed again
      this.perms.set(epoch, p);
    }
    return p;
  }

  batch(step: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.batchSize; i++) {
      const g = step * this.batchSize + i;
      out.push(this.perm(Math.floor(g / this.count))[g % this.count]!);
    }
    return out;
  }

  epochOf(step: number): number {
    return (step * this.batchSize) / this.count;
  }
}

/** input_ids = labels = the chunks (the graph shifts: position t predicts token t+1), positions 0..T-1. */
export function batchFeeds(chunks: Chunks, indices: readonly number[]): Record<string, HostTensor> {
  const T = chunks.length;
  const B = indices.length;
  const ids = new BigInt64Array(B * T);
  const pos = new BigInt64Array(B * T);
  indices.forEach((c, b) => {
    for (let t = 0; t < T; t++) {
      ids[b * T + t] = BigInt(chunks.tokens[c * T + t]!);
      pos[b * T + t] = BigInt(t);
    }
  });
  return {
    input_ids: { dtype: "int64", shape: [B, T], data: ids },
    labels: { dtype: "int64", shape: [B, T], data: ids },
    position_ids: { dtype: "int64", shape: [B, T], data: pos },
  };
}
