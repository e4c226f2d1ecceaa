// Float32 arrays on SharedArrayBuffers for sessions run on a worker thread (ort-thread.ts). ORT's node
// binding refuses SharedArrayBuffer-backed tensors, so the worker feeds ORT from copies: a *tracked* array
// is mirrored in the worker and only the ranges `markWritten` reported since that worker's last run are
// copied; an untracked shared array is copied whole (the fed view) on every run, by the worker.

import { type AnyTypedArray, type DType, bytesPerElement } from "../ir/dtype.ts";

/** Allocation of the arrays a caller feeds to sessions: shared (worker-thread sessions) or plain (main thread). */
export interface FloatAlloc {
  /** long-lived, rarely rewritten state (KV cache, tables): every write must be followed by `markWritten` */
  tracked(n: number): Float32Array;
  /** written freely; fed at most a few times (a worker copies what it is fed on each run) */
  scratch(n: number): Float32Array;
}

/** One tracked buffer: its id and, per worker session that mirrors it, the byte ranges written since its last run. */
interface Tracked {
  readonly id: number;
  readonly dirty: Map<number, DirtyRanges>;
}

/** Byte ranges [start, end) of one buffer, appended in write order; adjacent ones merge; many collapse to one. */
export class DirtyRanges {
  private ranges: number[] = [];
  static readonly MAX = 4096;

  add(start: number, end: number): void {
    const r = this.ranges;
    const n = r.length;
    if (n && start <= r[n - 1]! && start >= r[n - 2]!) r[n - 1] = Math.max(r[n - 1]!, end);
    else if (n >= 2 * DirtyRanges.MAX) this.ranges = [Math.min(start, ...r.filter((_, i) => i % 2 === 0)), Math.max(end, ...r)];
    else r.push(start, end);
  }

  /** The ranges so far, as [start0, end0, start1, end1, …]; cleared. */
  take(): Float64Array {
    const out = Float64Array.from(this.ranges);
    this.ranges = [];
    return out;
  }
}

let nextId = 1;
const tracked = new WeakMap<SharedArrayBuffer, Tracked>();
/** worker sessions by consumer id, told when a tracked buffer is collected so they drop its mirror */
const consumers = new Map<number, (id: number) => void>();
const collected = new FinalizationRegistry<number>((id) => {
  for (const forget of consumers.values()) forget(id);
});

/** A zeroed Float32Array on a SharedArrayBuffer (untracked: a worker copies what it is fed each run). */
export const sharedFloat32 = (n: number): Float32Array => new Float32Array(new SharedArrayBuffer(n * 4));

/** A zeroed shared Float32Array whose writes are reported with `markWritten`, so workers copy only those. */
export function trackedFloat32(n: number): Float32Array {
  const sab = new SharedArrayBuffer(n * 4);
  const id = nextId++;
  tracked.set(sab, { id, dirty: new Map() });
  collected.register(sab, id);
  return new Float32Array(sab);
}

/** Report a write to elements [start, start + count) of `view` (a tracked array or a view of one); a no-op otherwise. */
export function markWritten(view: Float32Array, start = 0, count = view.length - start): void {
  if (count <= 0 || !(view.buffer instanceof SharedArrayBuffer)) return;
  const t = tracked.get(view.buffer);
  if (!t || t.dirty.size === 0) return;
  const at = view.byteOffset + start * 4;
  for (const [c, d] of t.dirty) {
    if (consumers.has(c)) d.add(at, at + count * 4);
    else t.dirty.delete(c); // a released session
  }
}

/**
 * For worker session `consumer` about to feed a view of `sab`: null when the buffer is untracked; else its
 * id and the ranges to copy into the mirror (`full`: no mirror yet, copy it all — registers the consumer).
 */
export function syncOf(sab: SharedArrayBuffer, consumer: number): { id: number; full: boolean; ranges: Float64Array } | null {
  const t = tracked.get(sab);
  if (!t) return null;
  const d = t.dirty.get(consumer);
  if (d) return { id: t.id, full: false, ranges: d.take() };
  t.dirty.set(consumer, new DirtyRanges());
  return { id: t.id, full: true, ranges: new Float64Array(0) };
}

/** A new consumer id; `forget(id)` is called when a tracked buffer it may mirror is garbage-collected. */
export function registerConsumer(forget: (id: number) => void): number {
  const id = nextId++;
  consumers.set(id, forget);
  return id;
}

export function unregisterConsumer(id: number): void {
  consumers.delete(id);
}

export const PLAIN_ALLOC: FloatAlloc = { tracked: (n) => new Float32Array(n), scratch: (n) => new Float32Array(n) };
export const SHARED_ALLOC: FloatAlloc = { tracked: trackedFloat32, scratch: sharedFloat32 };

/** The allocation for sessions on this thread kind. */
export const floatAlloc = (thread: "worker" | "main"): FloatAlloc => (thread === "worker" ? SHARED_ALLOC : PLAIN_ALLOC);

const SHARED_ARRAY: Record<DType, new (b: SharedArrayBuffer) => AnyTypedArray> = {
  float32: Float32Array,
  float16: Uint16Array,
  int64: BigInt64Array,
  int32: Int32Array,
  bool: Uint8Array,
};

/** A zeroed typed array of `dtype` on a SharedArrayBuffer (outputs a worker writes into). */
export const allocSharedTyped = (dtype: DType, n: number): AnyTypedArray =>
  new SHARED_ARRAY[dtype](new SharedArrayBuffer(n * bytesPerElement(dtype)));
