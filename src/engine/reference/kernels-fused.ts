// Reference kernels of the fused primitives (Softmax, LogSoftmax, SwiGlu, SoftmaxCrossEntropy), written
// out directly in float64 rather than from the composites they replace, so they check those too.

import { isFloat, isInt } from "../ir/dtype.ts";
import { sigmoid } from "./kernels-elementwise.ts";
import type { Kernel } from "./kernel-types.ts";
import { type NDArray, fail, ndarray, normAxis, sizeOf, wrapIndex } from "./ndarray.ts";

/**
 * Each 1-D lane along `axis` of x, as (start, stride, length) offsets, handed to `f`, which writes the
 * lane of `out` at the same offsets.
 */
function lanes(x: NDArray, axis: number, f: (start: number, stride: number, n: number) => void): void {
  const ax = normAxis(axis, x.shape.length);
  const n = x.shape[ax]!;
  const inner = sizeOf(x.shape.slice(ax + 1));
  const outer = sizeOf(x.shape.slice(0, ax));
  for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) f(o * n * inner + i, inner, n);
}

/** max and log Σ exp(x − max) of one lane */
function laneLogSumExp(d: Float64Array, start: number, stride: number, n: number): { m: number; lse: number } {
  let m = -Infinity;
  for (let k = 0; k < n; k++) m = Math.max(m, d[start + k * stride]!);
  let s = 0;
  for (let k = 0; k < n; k++) s += Math.exp(d[start + k * stride]! - m);
  return { m, lse: Math.log(s) };
}

function needFloat(x: NDArray, what: string): void {
  if (!isFloat(x.dtype)) fail(`${what}: needs a floating input, got ${x.dtype}`);
}

export const softmaxKernel: Kernel<"Softmax"> = ([x], { axis }) => {
  needFloat(x!, "Softmax");
  const out = new Float64Array(x!.data.length);
  lanes(x!, axis, (start, stride, n) => {
    const { m, lse } = laneLogSumExp(x!.data, start, stride, n);
    for (let k = 0; k < n; k++) out[start + k * stride] = Math.exp(x!.data[start + k * stride]! - m - lse);
  });
  return ndarray(x!.dtype, x!.shape, out);
};

export const logSoftmaxKernel: Kernel<"LogSoftmax"> = ([x], { axis }) => {
  needFloat(x!, "LogSoftmax");
  const out = new Float64Array(x!.data.length);
  lanes(x!, axis, (start, stride, n) => {
    const { m, lse } = laneLogSumExp(x!.data, start, stride, n);
    for (let k = 0; k < n; k++) out[start + k * stride] = x!.data[start + k * stride]! - m - lse;
  });
  return ndarray(x!.dtype, x!.shape, out);
};

export const swiGluKernel: Kernel<"SwiGlu"> = ([gate, up]) => {
  needFloat(gate!, "SwiGlu");
  if (gate!.dtype !== up!.dtype) fail(`SwiGlu: dtype mismatch ${gate!.dtype} vs ${up!.dtype}`);
  if (gate!.shape.join() !== up!.shape.join()) fail(`SwiGlu: shapes [${gate!.shape}] and [${up!.shape}] differ`);
  const out = Float64Array.from(gate!.data, (g, i) => g * sigmoid(g) * up!.data[i]!);
  return ndarray(gate!.dtype, gate!.shape, out);
};

/** logits: (…, V), labels: (…) → (…) */
export const softmaxCrossEntropyKernel: Kernel<"SoftmaxCrossEntropy"> = ([logits, labels], { ignoreIndex }) => {
  needFloat(logits!, "SoftmaxCrossEntropy");
  if (!isInt(labels!.dtype)) fail(`SoftmaxCrossEntropy: labels must be int32/int64, got ${labels!.dtype}`);
  const lead = logits!.shape.slice(0, -1);
  if (lead.join() !== labels!.shape.join()) fail(`SoftmaxCrossEntropy: labels [${labels!.shape}] do not match logits [${logits!.shape}]`);
  const V = logits!.shape[logits!.shape.length - 1]!;
  const out = new Float64Array(labels!.data.length);
  for (let r = 0; r < out.length; r++) {
    const label = labels!.data[r]!;
    if (label === ignoreIndex) continue;
    const { m, lse } = laneLogSumExp(logits!.data, r * V, 1, V);
    out[r] = -(logits!.data[r * V + wrapIndex(label, V, "SoftmaxCrossEntropy")]! - m - lse);
  }
  return ndarray(logits!.dtype, lead, out);
};
