// Elementwise reference kernels: numpy-broadcast binary ops, unary ops, Where, Cast, Identity.
// Semantics follow ONNX opset 18 (integer Div truncates toward zero; comparisons give bool).

import { type DType, isInt } from "../ir/dtype.ts";
import { erf } from "./erf.ts";
import { castValues } from "./host.ts";
import type { Kernel } from "./kernel-types.ts";
import { type NDArray, broadcastOffsets, broadcastShape, fail, intFixer, ndarray } from "./ndarray.ts";

type BinaryName = "Add" | "Sub" | "Mul" | "Div" | "Pow" | "Max" | "Min" | "Equal" | "Less" | "Greater" | "And" | "Or";
type UnaryName = "Neg" | "Exp" | "Log" | "Sqrt" | "Reciprocal" | "Tanh" | "Sigmoid" | "Erf" | "Abs" | "Sign" | "Sin" | "Cos" | "Not";

function sameDtype(a: NDArray, b: NDArray): DType {
  if (a.dtype !== b.dtype) fail(`dtype mismatch: ${a.dtype} vs ${b.dtype}`);
  return a.dtype;
}

/** f applied over the numpy broadcast of a and b; `outDtype` null keeps the inputs' dtype. */
function binary(f: (x: number, y: number, dtype: DType) => number, outDtype: DType | null = null): Kernel<BinaryName> {
  return ([a, b]) => {
    const d = sameDtype(a!, b!);
    const od = outDtype ?? d;
    const shape = broadcastShape(a!.shape, b!.shape);
    const oa = broadcastOffsets(a!.shape, shape);
    const ob = broadcastOffsets(b!.shape, shape);
    const out = new Float64Array(oa.length);
    const fix = intFixer(od);
    for (let i = 0; i < out.length; i++) {
      const v = f(a!.data[oa[i]!]!, b!.data[ob[i]!]!, d);
      out[i] = fix ? fix(v) : v;
    }
    return ndarray(od, shape, out);
  };
}

function divide(x: number, y: number, d: DType): number {
  if (!isInt(d)) return x / y;
  if (y === 0) fail(`integer division by zero`);
  return Math.trunc(x / y);
}

/** C's pow, where JS's Math.pow differs: 1^y = 1 and (-1)^±∞ = 1 even for NaN/∞ exponents. */
function cpow(x: number, y: number): number {
  if (x === 1) return 1;
  if (x === -1 && !Number.isFinite(y) && !Number.isNaN(y)) return 1;
  return Math.pow(x, y);
}

const b01 = (c: boolean): number => (c ? 1 : 0);

export const binaryKernels: { [O in BinaryName]: Kernel<O> } = {
  Add: binary((x, y) => x + y),
  Sub: binary((x, y) => x - y),
  Mul: binary((x, y) => x * y),
  Div: binary(divide),
  Pow: binary(cpow),
  // Math.max/min propagate NaN, as numpy's maximum/minimum do
  Max: binary((x, y) => Math.max(x, y)),
  Min: binary((x, y) => Math.min(x, y)),
  Equal: binary((x, y) => b01(x === y), "bool"),
  Less: binary((x, y) => b01(x < y), "bool"),
  Greater: binary((x, y) => b01(x > y), "bool"),
  And: binary((x, y) => b01(x !== 0 && y !== 0)),
  Or: binary((x, y) => b01(x !== 0 || y !== 0)),
};

function unary(f: (x: number) => number): Kernel<UnaryName> {
  return ([x]) => {
    const fix = intFixer(x!.dtype);
    const out = Float64Array.from(x!.data, fix ? (v) => fix(f(v)) : f);
    return ndarray(x!.dtype, x!.shape, out);
  };
}

/** 1/(1+e^-x), written so that neither branch overflows. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

export const unaryKernels: { [O in UnaryName]: Kernel<O> } = {
  Neg: unary((x) => -x),
  Exp: unary(Math.exp),
  Log: unary(Math.log),
  Sqrt: unary(Math.sqrt),
  Reciprocal: unary((x) => 1 / x),
  Tanh: unary(Math.tanh),
  Sigmoid: unary(sigmoid),
  Erf: unary(erf),
  Abs: unary(Math.abs),
  Sign: unary(Math.sign),
  Sin: unary(Math.sin),
  Cos: unary(Math.cos),
  Not: unary((x) => b01(x === 0)),
};

/** where(cond, a, b): all three broadcast together. */
export const whereKernel: Kernel<"Where"> = ([c, a, b]) => {
  if (c!.dtype !== "bool") fail(`condition must be bool, got ${c!.dtype}`);
  const d = sameDtype(a!, b!);
  const shape = broadcastShape(c!.shape, a!.shape, b!.shape);
  const oc = broadcastOffsets(c!.shape, shape);
  const oa = broadcastOffsets(a!.shape, shape);
  const ob = broadcastOffsets(b!.shape, shape);
  const out = new Float64Array(oc.length);
  for (let i = 0; i < out.length; i++) out[i] = c!.data[oc[i]!] ? a!.data[oa[i]!]! : b!.data[ob[i]!]!;
  return ndarray(d, shape, out);
};

export const castKernel: Kernel<"Cast"> = ([x], { to }) => ndarray(to, x!.shape, castValues(x!.data, x!.dtype, to));

/** Values are never mutated in place, so Identity can hand its input on. */
export const identityKernel: Kernel<"Identity"> = ([x]) => x!;
