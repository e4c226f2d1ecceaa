// The reference interpreter's value type: a contiguous row-major float64 n-d array that keeps its
// declared dtype alongside (ints are held as exact float64 integers, bools as 0/1), plus the index
// arithmetic (strides, numpy broadcasting) the naive kernels share.

import type { DType } from "../ir/dtype.ts";

export interface NDArray {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

export class InterpreterError extends Error {
  override name = "InterpreterError";
}

export function fail(msg: string): never {
  throw new InterpreterError(msg);
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** An NDArray over `data` (taken, not copied), or zeros when `data` is omitted. */
export function ndarray(dtype: DType, shape: readonly number[], data?: Float64Array | readonly number[]): NDArray {
  for (const d of shape) if (!Number.isInteger(d) || d < 0) fail(`bad shape [${shape.join(", ")}]`);
  const n = sizeOf(shape);
  const arr = data === undefined ? new Float64Array(n) : data instanceof Float64Array ? data : Float64Array.from(data);
  if (arr.length !== n) fail(`${arr.length} values for shape [${shape.join(", ")}] (${n})`);
  return { dtype, shape: [...shape], data: arr };
}

/** Row-major strides (in elements). */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** Multi-index of a flat row-major position, written into `out`. */
export function unravel(flat: number, shape: readonly number[], out: number[]): number[] {
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = shape[i]!;
    out[i] = flat % d;
    flat = Math.floor(flat / d);
  }
  return out;
}

/** Concrete numpy broadcasting of several shapes. */
export function broadcastShape(...shapes: ReadonlyArray<readonly number[]>): number[] {
  const r = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(r).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = r - s.length + i;
      const d = s[i]!;
      if (d === out[j] || d === 1) continue;
      if (out[j] === 1) out[j] = d;
      else fail(`cannot broadcast ${shapes.map((x) => `[${x.join(", ")}]`).join(" with ")}`);
    }
  }
  return out;
}

/**
 * For each flat position of `outShape`, the flat position of the element of `inShape` that numpy
 * broadcasting reads there (size-1 axes and missing leading axes repeat).
 */
export function broadcastOffsets(inShape: readonly number[], outShape: readonly number[]): Int32Array {
  const r = outShape.length;
  const lead = r - inShape.length;
  if (lead < 0) fail(`cannot broadcast [${inShape.join(", ")}] to [${outShape.join(", ")}]`);
  const inStrides = stridesOf(inShape);
  // stride 0 on broadcast axes, aligned to the output's rank
  const st = outShape.map((d, i) => {
    if (i < lead) return 0;
    const di = inShape[i - lead]!;
    if (di === d) return inStrides[i - lead]!;
    if (di === 1) return 0;
    return fail(`cannot broadcast [${inShape.join(", ")}] to [${outShape.join(", ")}]`);
  });
  const n = sizeOf(outShape);
  const offs = new Int32Array(n);
  const idx = new Array<number>(r).fill(0);
  let off = 0;
  for (let k = 0; k < n; k++) {
    offs[k] = off;
    // odometer increment keeps this O(n) amortized
    for (let a = r - 1; a >= 0; a--) {
      idx[a]!++;
      off += st[a]!;
      if (idx[a]! < outShape[a]!) break;
      off -= st[a]! * idx[a]!;
      idx[a] = 0;
    }
  }
  return offs;
}

/** Normalize a possibly negative axis; throws when out of range. */
export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) fail(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** An index into an axis of size `d`; negatives count from the end (ONNX Gather/Scatter). */
export function wrapIndex(i: number, d: number, what: string): number {
  const j = i < 0 ? i + d : i;
  if (!Number.isInteger(j) || j < 0 || j >= d) fail(`${what}: index ${i} out of range for axis of size ${d}`);
  return j;
}

export function formatArray(a: NDArray): string {
  return `${a.dtype}[${a.shape.join(", ")}]`;
}

/**
 * Keep an integer result a valid value of its dtype: int32 wraps like two's complement arithmetic,
 * int64 must stay exact in float64 (the reference's one representational limit), -0 becomes 0.
 */
export function intFixer(dtype: DType): ((v: number) => number) | null {
  if (dtype === "int32") return (v) => v | 0;
  if (dtype === "int64") {
    return (v) => {
      if (!Number.isSafeInteger(v)) fail(`int64 value ${v} is not exact in float64 (|v| > 2^53)`);
      return v + 0;
    };
  }
  return null;
}
