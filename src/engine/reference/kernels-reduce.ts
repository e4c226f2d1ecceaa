// Reference reductions (ReduceSum/Mean/Max over axes, keepdims), MatMul with numpy batch broadcasting, and
// MatMulNBits over the exactly dequantized weight (whatever accuracy level ORT is asked for).

import { isFloat, isInt } from "../ir/dtype.ts";
import { dequantizeBlockwise } from "../quant/blockwise.ts";
import type { Kernel } from "./kernel-types.ts";
import { type NDArray, broadcastOffsets, broadcastShape, fail, intFixer, ndarray, normAxis, sizeOf, stridesOf } from "./ndarray.ts";

type ReduceName = "ReduceSum" | "ReduceMean" | "ReduceMax";

/**
 * Fold x over `axes`. An empty axes list reduces nothing (op-specs' semantics, unlike ONNX's
 * default of reducing everything). An empty reduced extent leaves `init`: 0 for sums, -∞ for max.
 */
function reduce(
  x: NDArray,
  axes: readonly number[],
  keepdims: boolean,
  init: number,
  step: (acc: number, v: number) => number,
): { shape: number[]; acc: Float64Array; count: number } {
  const r = x.shape.length;
  const ax = new Set(axes.map((a) => normAxis(a, r)));
  if (ax.size !== axes.length) fail(`repeated reduction axes [${axes.join(", ")}]`);
  // out offset of an input element: its index on kept axes dotted with the kept-shape strides
  const kept = x.shape.map((d, i) => (ax.has(i) ? 1 : d));
  const keptStrides = stridesOf(kept).map((s, i) => (ax.has(i) ? 0 : s));
  const acc = new Float64Array(sizeOf(kept)).fill(init);
  const idx = new Array<number>(r).fill(0);
  let off = 0;
  for (let k = 0; k < x.data.length; k++) {
    acc[off] = step(acc[off]!, x.data[k]!);
    for (let a = r - 1; a >= 0; a--) {
      idx[a]!++;
      off += keptStrides[a]!;
      if (idx[a]! < x.shape[a]!) break;
      off -= keptStrides[a]! * idx[a]!;
      idx[a] = 0;
    }
  }
  const shape = keepdims ? kept : x.shape.filter((_, i) => !ax.has(i));
  const count = x.shape.reduce((n, d, i) => (ax.has(i) ? n * d : n), 1);
  return { shape, acc, count };
}

export const reduceKernels: { [O in ReduceName]: Kernel<O> } = {
  ReduceSum: ([x], { axes, keepdims }) => {
    const { shape, acc } = reduce(x!, axes, keepdims, 0, (s, v) => s + v);
    const fix = intFixer(x!.dtype);
    return ndarray(x!.dtype, shape, fix ? acc.map(fix) : acc);
  },
  ReduceMean: ([x], { axes, keepdims }) => {
    const { shape, acc, count } = reduce(x!, axes, keepdims, 0, (s, v) => s + v);
    // integer means truncate, as ONNX Runtime's integer ReduceMean divides in the integer type
    if (!isInt(x!.dtype))
      return ndarray(
        x!.dtype,
        shape,
        acc.map((s) => s / count),
      );
    if (count === 0 && acc.length) fail(`integer mean over an empty extent`);
    return ndarray(
      x!.dtype,
      shape,
      acc.map((s) => Math.trunc(s / count) + 0),
    );
  },
  ReduceMax: ([x], { axes, keepdims }) => {
    // NaN propagates (numpy's max), since Math.max does
    const { shape, acc } = reduce(x!, axes, keepdims, -Infinity, (m, v) => Math.max(m, v));
    return ndarray(x!.dtype, shape, acc);
  },
};

/** a: (…a, M, K) @ b: (…b, K, N) → (broadcast(…a, …b), M, N) */
export const matmulKernel: Kernel<"MatMul"> = ([a, b]) => {
  if (a!.dtype !== b!.dtype) fail(`dtype mismatch: ${a!.dtype} vs ${b!.dtype}`);
  if (!isFloat(a!.dtype)) fail(`needs floating inputs, got ${a!.dtype}`);
  const ra = a!.shape.length;
  const rb = b!.shape.length;
  if (ra < 2 || rb < 2) fail(`needs rank ≥ 2 operands`);
  const [M, K] = [a!.shape[ra - 2]!, a!.shape[ra - 1]!];
  const [K2, N] = [b!.shape[rb - 2]!, b!.shape[rb - 1]!];
  if (K !== K2) fail(`inner dims differ (${K} vs ${K2})`);
  const batchA = a!.shape.slice(0, -2);
  const batchB = b!.shape.slice(0, -2);
  const batch = broadcastShape(batchA, batchB);
  // matrix indices per output batch position
  const ia = broadcastOffsets(batchA, batch);
  const ib = broadcastOffsets(batchB, batch);
  const out = new Float64Array(ia.length * M * N);
  for (let p = 0; p < ia.length; p++) {
    const a0 = ia[p]! * M * K;
    const b0 = ib[p]! * K * N;
    const o0 = p * M * N;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a!.data[a0 + i * K + k]! * b!.data[b0 + k * N + j]!;
        out[o0 + i * N + j] = s;
      }
    }
  }
  return ndarray(a!.dtype, [...batch, M, N], out);
};

/** x: (…, M, K) @ dequant(W)ᵀ with W (N, K) → (…, M, N), in float64 */
export const matmulNBitsKernel: Kernel<"MatMulNBits"> = ([x], { weight }) => {
  const { K, N } = weight;
  if (x!.shape[x!.shape.length - 1] !== K) fail(`input's last dim must be K = ${K}`);
  const w = dequantizeBlockwise(weight); // (N, K)
  const rows = x!.data.length / K;
  const out = new Float64Array(rows * N);
  for (let r = 0; r < rows; r++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += x!.data[r * K + k]! * w[n * K + k]!;
      out[r * N + n] = s;
    }
  }
  return ndarray("float32", [...x!.shape.slice(0, -1), N], out);
};
