// The KV cache in JS-owned memory, per layer either time-major (capacity, slots, KVH, D) — the first P
// positions of every slot one contiguous prefix, fed as a zero-copy view — or head-first (slots, KVH,
// allocated, D), fed whole and read in place by the graph (no concat, no transpose); the allocation grows
// in steps of HEAD_STEP positions, so a step attends to at most HEAD_STEP − 1 masked spare positions.
// Each step writes only its new positions.

import type { HostTensor } from "../engine/index.ts";
import type { CacheLayout } from "../models/index.ts";

/** Head-first allocations grow by this many positions: few re-layouts, few masked positions per step. */
export const HEAD_STEP = 32;

export class KvCache {
  keys: Float32Array[];
  values: Float32Array[];
  /** positions allocated per slot: `capacity` when time-major, a multiple of HEAD_STEP (≤ capacity) when head-first */
  allocated: number;
  /** floats per position per slot */
  private readonly width: number;

  constructor(
    readonly layers: number,
    readonly slots: number,
    readonly kvHeads: number,
    readonly headDim: number,
    readonly capacity: number,
    readonly layout: CacheLayout = "time",
  ) {
    this.width = kvHeads * headDim;
    this.allocated = layout === "time" ? capacity : 0;
    const n = this.allocated * slots * this.width;
    this.keys = Array.from({ length: layers }, () => new Float32Array(n));
    this.values = Array.from({ length: layers }, () => new Float32Array(n));
  }

  get bytes(): number {
    return 2 * this.layers * this.allocated * this.slots * this.width * 4;
  }

  /**
   * What a step with P past positions attends to, sharing memory with the cache: time-major the first P
   * positions → (P, slots, KVH, D); head-first all allocated positions → (slots, KVH, allocated, D), the
   * mask hiding those at or past each row's length.
   */
  view(kind: "key" | "value", l: number, P: number): HostTensor {
    const src = kind === "key" ? this.keys[l]! : this.values[l]!;
    if (this.layout === "head") {
      if (P > this.allocated) throw new Error(`KV cache: ${P} past positions but ${this.allocated} allocated`);
      return { dtype: "float32", shape: [this.slots, this.kvHeads, this.allocated, this.headDim], data: src };
    }
    const stride = this.slots * this.width;
    return { dtype: "float32", shape: [P, this.slots, this.kvHeads, this.headDim], data: src.subarray(0, P * stride) };
  }

  /**
   * Store this step's new positions: present (T, slots, KVH, D), head-first (slots, KVH, T, D); row b's first counts[b] positions go to
   * cache positions starts[b], starts[b]+1, …
   */
  write(kind: "key" | "value", l: number, present: Float32Array, T: number, starts: readonly number[], counts: readonly number[]): void {
    let end = 0;
    for (let b = 0; b < this.slots; b++) {
      const n = Math.min(counts[b] ?? 0, T);
      if (starts[b]! + n > this.capacity) throw new Error(`KV cache: slot ${b} would exceed its capacity of ${this.capacity} positions`);
      end = Math.max(end, starts[b]! + n);
    }
    if (this.layout === "head") this.writeHeadFirst(kind, l, present, T, starts, counts, end);
    else this.writeTimeMajor(kind, l, present, T, starts, counts);
  }

  private writeTimeMajor(
    kind: "key" | "value",
    l: number,
    present: Float32Array,
    T: number,
    starts: readonly number[],
    counts: readonly number[],
  ): void {
    const dst = kind === "key" ? this.keys[l]! : this.values[l]!;
    const w = this.width;
    const stride = this.slots * w;
    const s0 = starts[0]!;
    if (starts.length === this.slots && starts.every((s, b) => s === s0 && counts[b] === T)) {
      // every slot appends T positions at the same place: one contiguous block, time-major like the cache
      dst.set(present.subarray(0, T * stride), s0 * stride);
      return;
    }
    for (let b = 0; b < this.slots; b++) {
      const n = counts[b] ?? 0;
      for (let t = 0; t < n && t < T; t++) {
        const from = (t * this.slots + b) * w;
        dst.set(present.subarray(from, from + w), (starts[b]! + t) * stride + b * w);
      }
    }
  }

  /** present (slots, KVH, T, D) → cache (slots, KVH, allocated, D): one run of n·D floats per (row, head) */
  private writeHeadFirst(
    kind: "key" | "value",
    l: number,
    present: Float32Array,
    T: number,
    starts: readonly number[],
    counts: readonly number[],
    end: number,
  ): void {
    if (end > this.allocated) this.grow(Math.min(this.capacity, Math.ceil(end / HEAD_STEP) * HEAD_STEP));
    const dst = kind === "key" ? this.keys[l]! : this.values[l]!;
    const { kvHeads: KVH, headDim: D, allocated: A } = this;
    for (let b = 0; b < this.slots; b++) {
      const n = Math.min(counts[b] ?? 0, T);
      for (let h = 0; h < KVH; h++) {
        const from = (b * KVH + h) * T * D;
        dst.set(present.subarray(from, from + n * D), ((b * KVH + h) * A + starts[b]!) * D);
      }
    }
  }

  /** Re-allocate every layer head-first with `allocated` positions per slot, keeping what is stored. */
  private grow(allocated: number): void {
    const rows = this.slots * this.kvHeads;
    const D = this.headDim;
    const old = this.allocated;
    const relayout = (src: Float32Array): Float32Array => {
      const dst = new Float32Array(rows * allocated * D);
      for (let r = 0; r < rows; r++) dst.set(src.subarray(r * old * D, (r + 1) * old * D), r * allocated * D);
      return dst;
    };
    this.keys = this.keys.map(relayout);
    this.values = this.values.map(relayout);
    this.allocated = allocated;
  }
}
