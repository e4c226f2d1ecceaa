// The KV cache of one continuously batched session: time-major (capacity, width, KVH, D) per layer, like
// KvCache, but with a width that follows the running batch. Running rows are kept compact in slots
// [0, n) (a leaving row's slot is filled by moving the last row), and the width is a bucket ≥ n, so a
// decode step computes at most a few idle rows while the first P positions stay one zero-copy view.
// On a worker-thread session the arrays are tracked shared memory: every write is reported (markWritten),
// so the worker's mirror copies only what changed.

import { type FloatAlloc, type HostTensor, PLAIN_ALLOC, markWritten } from "../../engine/index.ts";
import type { PastKv } from "../model-runner.ts";
import type { RowKv } from "./row-kv.ts";

/** Batch widths the cache takes: 1, 2, 4, 8, then multiples of 8 (few re-layouts, ≤ 7 idle rows past 8). */
export function widthFor(n: number): number {
  if (n <= 0) return 0;
  if (n <= 8) return 2 ** Math.ceil(Math.log2(n));
  return Math.ceil(n / 8) * 8;
}

/** Positions per slot are allocated in steps of this many (fewer re-allocations as requests come and go). */
export const CAPACITY_STEP = 32;

export function capacityFor(positions: number, maxPositions: number): number {
  return Math.min(maxPositions, Math.ceil(positions / CAPACITY_STEP) * CAPACITY_STEP);
}

export class SlotCache implements PastKv {
  keys: Float32Array[] = [];
  values: Float32Array[] = [];
  width = 0;
  capacity = 0;
  /** floats of one position of one slot in one layer */
  readonly rowFloats: number;

  constructor(
    readonly layers: number,
    readonly kvHeads: number,
    readonly headDim: number,
    /** the arrays' allocation (the runner's: shared and tracked for a worker-thread session) */
    private readonly alloc: FloatAlloc = PLAIN_ALLOC,
    /** copies held: 2 when a worker mirrors the cache (counted in every byte figure, so in kvCacheBytes) */
    readonly copies = 1,
  ) {
    this.rowFloats = kvHeads * headDim;
  }

  /** bytes of keys and values for one position of one slot, all layers (every copy) */
  get bytesPerSlotPosition(): number {
    return 2 * this.layers * this.rowFloats * 4 * this.copies;
  }

  bytesFor(width: number, capacity: number): number {
    return width * capacity * this.bytesPerSlotPosition;
  }

  /** allocated bytes (pages never written are not resident; see the README) */
  get bytes(): number {
    return this.bytesFor(this.width, this.capacity);
  }

  /**
   * Re-allocate as (capacity, width), keeping positions [0, used) of slots [0, min(width, old width)).
   * Width 0 frees the cache.
   */
  resize(width: number, capacity: number, used: number): void {
    if (width === this.width && capacity === this.capacity) return;
    if (width > 0 && used > capacity) throw new Error(`KV cache: ${used} positions in use exceed the new capacity ${capacity}`);
    const w = this.rowFloats;
    const keep = Math.min(width, this.width);
    const relayout = (src: Float32Array | undefined): Float32Array => {
      const dst = this.alloc.tracked(width * capacity * w);
      if (!src || keep === 0) return dst;
      // same width: the used prefix is contiguous; otherwise copy each position's kept slots
      if (width === this.width) dst.set(src.subarray(0, used * width * w));
      else for (let p = 0; p < used; p++) dst.set(src.subarray(p * this.width * w, (p * this.width + keep) * w), p * width * w);
      return dst;
    };
    if (width === 0) {
      this.keys = [];
      this.values = [];
    } else {
      this.keys = Array.from({ length: this.layers }, (_, l) => relayout(this.keys[l]));
      this.values = Array.from({ length: this.layers }, (_, l) => relayout(this.values[l]));
    }
    this.width = width;
    this.capacity = width === 0 ? 0 : capacity;
  }

  /** The first P positions of layer l, all slots. → (P, width, KVH, D), sharing memory with the cache */
  view(kind: "key" | "value", l: number, P: number): HostTensor {
    if (P > this.capacity) throw new Error(`KV cache: view of ${P} positions exceeds the capacity ${this.capacity}`);
    const src = kind === "key" ? this.keys[l]! : this.values[l]!;
    return { dtype: "float32", shape: [P, this.width, this.kvHeads, this.headDim], data: src.subarray(0, P * this.width * this.rowFloats) };
  }

  /**
   * Store a step's new positions. present: (T, B, KVH, D) of a step over B rows; row `from` of it goes to
   * slot `slot`, positions start … start+count-1.
   */
  write(
    kind: "key" | "value",
    l: number,
    present: Float32Array,
    T: number,
    B: number,
    rows: ReadonlyArray<{ from: number; slot: number; start: number; count: number }>,
  ): void {
    const dst = kind === "key" ? this.keys[l]! : this.values[l]!;
    const w = this.rowFloats;
    const stride = this.width * w;
    for (const r of rows) {
      if (r.slot >= this.width) throw new Error(`KV cache: slot ${r.slot} is outside the width ${this.width}`);
      if (r.start + r.count > this.capacity)
        throw new Error(`KV cache: slot ${r.slot} would exceed its capacity of ${this.capacity} positions`);
      for (let t = 0; t < r.count && t < T; t++) {
        const src = (t * B + r.from) * w;
        dst.set(present.subarray(src, src + w), (r.start + t) * stride + r.slot * w);
        markWritten(dst, (r.start + t) * stride + r.slot * w, w);
      }
    }
  }

  /** Copy a prefilled row's positions [0, len) from its staging buffer into `slot`. */
  writeRow(slot: number, kv: RowKv, len: number): void {
    if (slot >= this.width) throw new Error(`KV cache: slot ${slot} is outside the width ${this.width}`);
    if (len > this.capacity) throw new Error(`KV cache: ${len} positions exceed the capacity ${this.capacity}`);
    const w = this.rowFloats;
    const stride = this.width * w;
    for (let l = 0; l < this.layers; l++) {
      for (const [dst, src] of [
        [this.keys[l]!, kv.plane("key", l, len)],
        [this.values[l]!, kv.plane("value", l, len)],
      ] as const) {
        for (let p = 0; p < len; p++) {
          dst.set(src.subarray(p * w, (p + 1) * w), p * stride + slot * w);
          markWritten(dst, p * stride + slot * w, w);
        }
      }
    }
  }

  /** Copy positions [0, len) of slot `from` into slot `to` (compaction when a row leaves). */
  moveSlot(from: number, to: number, len: number): void {
    if (from === to) return;
    const w = this.rowFloats;
    const stride = this.width * w;
    for (const arr of [...this.keys, ...this.values]) {
      for (let p = 0; p < len; p++) {
        arr.copyWithin(p * stride + to * w, p * stride + from * w, p * stride + (from + 1) * w);
        markWritten(arr, p * stride + to * w, w);
      }
    }
  }
}
