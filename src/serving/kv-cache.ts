// The KV cache in JS-owned memory, time-major per layer: (capacity, slots, KVH, D). The first P positions
// of every slot form one contiguous prefix, fed to the graph as a zero-copy view; each step writes only
// its new positions.

import type { HostTensor } from "../engine/index.ts";

export class KvCache {
  readonly keys: Float32Array[];
  readonly values: Float32Array[];
  /** floats per position across all slots */
  private readonly stride: number;
  /** floats per position per slot */
  private readonly width: number;

  constructor(
    readonly layers: number,
    readonly slots: number,
    readonly kvHeads: number,
    readonly headDim: number,
    readonly capacity: number,
  ) {
    this.width = kvHeads * headDim;
    this.stride = slots * this.width;
    const n = capacity * this.stride;
    this.keys = Array.from({ length: layers }, () => new Float32Array(n));
    this.values = Array.from({ length: layers }, () => new Float32Array(n));
  }

  get bytes(): number {
    return 2 * this.layers * this.capacity * this.stride * 4;
  }

  /** The first P positions of layer l. → (P, slots, KVH, D), sharing memory with the cache */
  view(kind: "key" | "value", l: number, P: number): HostTensor {
    const src = kind === "key" ? this.keys[l]! : this.values[l]!;
    return { dtype: "float32", shape: [P, this.slots, this.kvHeads, this.headDim], data: src.subarray(0, P * this.stride) };
  }

  /**
   * Store this step's new positions: present (T, slots, KVH, D); row b's first counts[b] positions go to
   * cache positions starts[b], starts[b]+1, …
   */
  write(kind: "key" | "value", l: number, present: Float32Array, T: number, starts: readonly number[], counts: readonly number[]): void {
    const dst = kind === "key" ? this.keys[l]! : this.values[l]!;
    const w = this.width;
    const s0 = starts[0]!;
    if (s0 + T <= this.capacity && starts.length === this.slots && starts.every((s, b) => s === s0 && counts[b] === T)) {
      // every slot appends T positions at the same place: one contiguous block, time-major like the cache
      dst.set(present.subarray(0, T * this.stride), s0 * this.stride);
      return;
    }
    for (let b = 0; b < this.slots; b++) {
      const n = counts[b] ?? 0;
      if (starts[b]! + n > this.capacity) throw new Error(`KV cache: slot ${b} would exceed its capacity of ${this.capacity} positions`);
      for (let t = 0; t < n && t < T; t++) {
        const from = (t * this.slots + b) * w;
        dst.set(present.subarray(from, from + w), (starts[b]! + t) * this.stride + b * w);
      }
    }
  }
}
