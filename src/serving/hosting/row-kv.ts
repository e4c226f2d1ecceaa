// One request's K/V while its prompt is prefilled (cached prefix blocks, then chunk after chunk): a private
// time-major buffer of width 1, so it is the zero-copy past of a chunk that prefills alone, and is copied
// into the lane's slot cache when the prompt is done. Several rows with a past prefill together through
// `batchPast`, which lays their buffers side by side.

import { type FloatAlloc, type HostTensor, PLAIN_ALLOC } from "../../engine/index.ts";
import type { PastKv } from "../model-runner.ts";

export class RowKv implements PastKv {
  /** (2·L, capacity, KVH·D): plane 2l holds layer l's keys, 2l+1 its values */
  readonly data: Float32Array;
  readonly rowFloats: number;

  constructor(
    readonly layers: number,
    readonly kvHeads: number,
    readonly headDim: number,
    /** positions held: the prompt's length */
    readonly capacity: number,
    /** scratch (shared on a worker-thread session: the worker copies just the views it is fed) */
    alloc: FloatAlloc = PLAIN_ALLOC,
  ) {
    this.rowFloats = kvHeads * headDim;
    this.data = alloc.scratch(2 * layers * capacity * this.rowFloats);
  }

  get bytes(): number {
    return this.data.length * 4;
  }

  /** positions [0, P) of layer l's keys or values. → (P, 1, KVH, D), sharing memory */
  plane(kind: "key" | "value", l: number, P: number): Float32Array {
    const at = (2 * l + (kind === "key" ? 0 : 1)) * this.capacity * this.rowFloats;
    return this.data.subarray(at, at + P * this.rowFloats);
  }

  view(kind: "key" | "value", l: number, P: number): HostTensor {
    if (P > this.capacity) throw new Error(`row KV: view of ${P} positions exceeds its ${this.capacity}`);
    return { dtype: "float32", shape: [P, 1, this.kvHeads, this.headDim], data: this.plane(kind, l, P) };
  }

  /** Store row `from` of a step's present (T, B, KVH, D): its first `count` positions at start … */
  write(kind: "key" | "value", l: number, present: Float32Array, B: number, from: number, start: number, count: number): void {
    if (start + count > this.capacity) throw new Error(`row KV: positions up to ${start + count} exceed its ${this.capacity}`);
    const w = this.rowFloats;
    const dst = this.plane(kind, l, this.capacity);
    for (let t = 0; t < count; t++) dst.set(present.subarray((t * B + from) * w, (t * B + from + 1) * w), (start + t) * w);
  }
}

/**
 * The past of a batched prefill step whose rows have pasts of their own: the first P positions of each
 * row's buffer, side by side. → views (P, B, KVH, D); a single row's buffer is used in place.
 * rows[b] null: a row with no past (its positions are masked by past_len).
 */
export function batchPast(rows: ReadonlyArray<RowKv | null>, P: number, alloc: FloatAlloc = PLAIN_ALLOC): PastKv {
  const only = rows.length === 1 ? rows[0] : undefined;
  if (only) return only;
  const some = rows.find((r) => r !== null)!;
  const w = some.rowFloats;
  const B = rows.length;
  return {
    view(kind, l, p) {
      if (p !== P) throw new Error(`batched past: view of ${p} positions, built for ${P}`);
      const data = alloc.scratch(P * B * w);
      rows.forEach((r, b) => {
        if (!r) return;
        const src = r.plane(kind, l, Math.min(P, r.capacity));
        for (let t = 0; t * w < src.length; t++) data.set(src.subarray(t * w, (t + 1) * w), (t * B + b) * w);
      });
      return { dtype: "float32", shape: [P, B, some.kvHeads, some.headDim], data };
    },
  };
}
