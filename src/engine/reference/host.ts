// Conversions between HostTensor (the engine's JS-side tensors, in their storage types) and the
// reference interpreter's float64 NDArray.

import { type DType, isFloat, isInt } from "../ir/dtype.ts";
import type { HostTensor } from "../ir/host-tensor.ts";
import { f16round, halfToNumber, numberToHalf } from "./float16.ts";
import { type NDArray, fail, intFixer, ndarray } from "./ndarray.ts";

/**
 * float64 values of a HostTensor's data. float16 data is Uint16 bits; int64 values must be exact in
 * float64 (|v| ≤ 2^53) since the reference holds ints as doubles; bools become 0/1.
 */
export function hostToFloat64(t: HostTensor, what = "tensor"): Float64Array {
  const d = t.data;
  const n = d.length;
  if (d instanceof BigInt64Array) {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = Number(d[i]!);
      if (!Number.isSafeInteger(v)) fail(`${what}: int64 value ${d[i]} is not exact in float64`);
      out[i] = v;
    }
    return out;
  }
  if (d instanceof Uint16Array) {
    if (t.dtype !== "float16") fail(`${what}: Uint16Array data for dtype ${t.dtype} (only float16 bits use it)`);
    return Float64Array.from(d, halfToNumber);
  }
  if (t.dtype === "bool") return Float64Array.from(d as ArrayLike<number>, (v) => (v ? 1 : 0));
  if (isInt(t.dtype) && (d instanceof Float64Array || d instanceof Float32Array)) {
    const bad = d.findIndex((v) => !Number.isSafeInteger(v));
    if (bad >= 0) fail(`${what}: value ${d[bad]} at ${bad} is not an integer (dtype ${t.dtype})`);
  }
  if (d instanceof Float64Array) return d;
  return Float64Array.from(d as ArrayLike<number>);
}

/** A HostTensor as an NDArray of its own dtype. */
export function fromHost(t: HostTensor, what = "tensor"): NDArray {
  return ndarray(t.dtype, t.shape, hostToFloat64(t, what));
}

/**
 * An NDArray as a HostTensor of `dtype` (default: its own) in that dtype's storage type: float32 →
 * Float32Array, float16 → Uint16Array bits, int64 → BigInt64Array, int32 → Int32Array, bool → Uint8Array.
 * Floats round to the target precision; ints must hold integer values.
 */
export function toHost(a: NDArray, dtype: DType = a.dtype): HostTensor {
  const n = a.data.length;
  const shape = [...a.shape];
  const src = a.data;
  const intOf = (i: number): number => {
    const v = src[i]!;
    if (!Number.isInteger(v)) fail(`toHost: value ${v} at ${i} is not an integer (target ${dtype})`);
    return v;
  };
  switch (dtype) {
    case "float32":
      return { dtype, shape, data: Float32Array.from(src) };
    case "float16":
      return { dtype, shape, data: Uint16Array.from(src, numberToHalf) };
    case "int64": {
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) out[i] = BigInt(intOf(i));
      return { dtype, shape, data: out };
    }
    case "int32": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = intOf(i);
      return { dtype, shape, data: out };
    }
    case "bool":
      return { dtype, shape, data: Uint8Array.from(src, (v) => (v ? 1 : 0)) };
  }
}

/**
 * Values of `x` converted to `to` as ONNX Cast does: float → int truncates toward zero, → bool is
 * "non-zero", → float16 rounds (through float32). → float32 keeps the float64 value: the reference
 * computes every float in float64, so only float16's much coarser rounding is emulated.
 */
export function castValues(x: Float64Array, from: DType, to: DType): Float64Array {
  if (to === "bool") return Float64Array.from(x, (v) => (v !== 0 ? 1 : 0));
  if (isInt(to)) {
    const fix = intFixer(to)!;
    if (isFloat(from)) {
      return Float64Array.from(x, (v) => {
        if (!Number.isFinite(v)) fail(`Cast: ${v} cannot be converted to ${to}`);
        return fix(Math.trunc(v));
      });
    }
    return Float64Array.from(x, fix);
  }
  if (to === "float16") return Float64Array.from(x, f16round);
  return Float64Array.from(x);
}
