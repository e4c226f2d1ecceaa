// The symbolic tensor API over primitive ops: what model and gradient code call.
// Numbers mix freely with tensors and become scalar constants of the tensor's dtype.

import { type Dim, dimEq } from "./dim.ts";
import type { DType } from "./dtype.ts";
import { GraphError, type Tensor } from "./graph.ts";
import type { OpAttrMap, OpName } from "./op-specs.ts";
import type { QuantizedMatrix } from "../quant/blockwise.ts";

export type TensorLike = Tensor | number;

function one<O extends OpName>(op: O, inputs: Tensor[], attrs: OpAttrMap[O]): Tensor {
  if (inputs.length === 0) throw new GraphError(`${op}: needs a tensor input`);
  return inputs[0]!.graph.addNode(op, inputs, attrs)[0]!;
}

const NONE = {} as Record<string, never>;

function lift(a: TensorLike, b: TensorLike, op: string): [Tensor, Tensor] {
  if (typeof a === "number" && typeof b === "number") throw new GraphError(`${op}: at least one operand must be a tensor`);
  const ref = (typeof a === "number" ? b : a) as Tensor;
  const asT = (v: TensorLike) => (typeof v === "number" ? ref.graph.scalar(v, ref.dtype) : v);
  return [asT(a), asT(b)];
}

const bin =
  (op: "Add" | "Sub" | "Mul" | "Div" | "Pow" | "Max" | "Min" | "Equal" | "Less" | "Greater" | "And" | "Or") =>
  (a: TensorLike, b: TensorLike): Tensor =>
    one(op, lift(a, b, op), NONE);

export const add = bin("Add");
export const sub = bin("Sub");
export const mul = bin("Mul");
export const div = bin("Div");
export const pow = bin("Pow");
export const maximum = bin("Max");
export const minimum = bin("Min");
export const equal = bin("Equal");
export const less = bin("Less");
export const greater = bin("Greater");
export const and = bin("And");
export const or = bin("Or");

const un =
  (op: "Neg" | "Exp" | "Log" | "Sqrt" | "Reciprocal" | "Tanh" | "Sigmoid" | "Erf" | "Abs" | "Sign" | "Sin" | "Cos" | "Not") =>
  (x: Tensor): Tensor =>
    one(op, [x], NONE);

export const neg = un("Neg");
export const exp = un("Exp");
export const log = un("Log");
export const sqrt = un("Sqrt");
export const reciprocal = un("Reciprocal");
export const tanh = un("Tanh");
export const sigmoid = un("Sigmoid");
export const erf = un("Erf");
export const abs = un("Abs");
export const sign = un("Sign");
export const sin = un("Sin");
export const cos = un("Cos");
export const not = un("Not");

export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = lift(a, b, "Where");
  return one("Where", [cond, ta, tb], NONE);
}

export const cast = (x: Tensor, to: DType): Tensor => (x.dtype === to ? x : one("Cast", [x], { to }));
export const identity = (x: Tensor): Tensor => one("Identity", [x], { stopGradient: false });
/** The value of x, with no gradient flowing back through it. */
export const stopGradient = (x: Tensor): Tensor => one("Identity", [x], { stopGradient: true });

export const matmul = (a: Tensor, b: Tensor): Tensor => one("MatMul", [a, b], NONE);
/** x (…, K) @ dequant(weight)ᵀ → (…, N); weight: (N, K) quantized blockwise (see engine/quant) */
export const matmulNBits = (
  x: Tensor,
  weight: QuantizedMatrix,
  name: string,
  accuracyLevel: OpAttrMap["MatMulNBits"]["accuracyLevel"] = 0,
): Tensor => one("MatMulNBits", [x], { weight, name, accuracyLevel });

const red =
  (op: "ReduceSum" | "ReduceMean" | "ReduceMax") =>
  (x: Tensor, axes: number | number[] = [...x.shape.keys()], keepdims = false): Tensor =>
    one(op, [x], { axes: typeof axes === "number" ? [axes] : axes, keepdims });

export const sum = red("ReduceSum");
export const mean = red("ReduceMean");
export const max = red("ReduceMax");

export const softmax = (x: Tensor, axis = -1): Tensor => one("Softmax", [x], { axis });
export const logSoftmax = (x: Tensor, axis = -1): Tensor => one("LogSoftmax", [x], { axis });
/** silu(gate) · up */
export const swiGlu = (gate: Tensor, up: Tensor): Tensor => one("SwiGlu", [gate, up], NONE);
/** −log softmax(logits)[label] over the last axis, 0 where label = ignoreIndex. logits: (…, V), labels: (…) → (…) */
export const softmaxCrossEntropy = (logits: Tensor, labels: Tensor, ignoreIndex = -100): Tensor =>
  one("SoftmaxCrossEntropy", [logits, labels], { ignoreIndex });

export function reshape(x: Tensor, shape: Dim[]): Tensor {
  if (shape.length === x.rank && shape.every((d, i) => dimEq(d, x.shape[i]!))) return x;
  return one("Reshape", [x], { shape });
}

export const transpose = (x: Tensor, perm: number[]): Tensor => (perm.every((p, i) => p === i) ? x : one("Transpose", [x], { perm }));

/** Swap the last two axes. */
export function transposeLast(x: Tensor): Tensor {
  const perm = [...x.shape.keys()];
  perm[x.rank - 1] = x.rank - 2;
  perm[x.rank - 2] = x.rank - 1;
  return transpose(x, perm);
}

export const slice = (x: Tensor, axis: number, start: Dim, end: Dim | null = null): Tensor => one("Slice", [x], { axis, start, end });

export function concat(xs: Tensor[], axis: number): Tensor {
  return xs.length === 1 ? xs[0]! : one("Concat", xs, { axis });
}

export const gather = (x: Tensor, indices: Tensor, axis = 0): Tensor => one("Gather", [x, indices], { axis });
export const gatherElements = (x: Tensor, indices: Tensor, axis: number): Tensor => one("GatherElements", [x, indices], { axis });
export const scatterElementsAdd = (x: Tensor, indices: Tensor, updates: Tensor, axis: number): Tensor =>
  one("ScatterElementsAdd", [x, indices, updates], { axis });
export const scatterNDAdd = (x: Tensor, indices: Tensor, updates: Tensor): Tensor => one("ScatterNDAdd", [x, indices, updates], NONE);

export function expand(x: Tensor, shape: Dim[]): Tensor {
  if (shape.length === x.rank && shape.every((d, i) => dimEq(d, x.shape[i]!))) return x;
  return one("Expand", [x], { shape });
}

export const squeeze = (x: Tensor, axes: number[]): Tensor => (axes.length ? one("Squeeze", [x], { axes }) : x);
export const unsqueeze = (x: Tensor, axes: number[]): Tensor => (axes.length ? one("Unsqueeze", [x], { axes }) : x);
export const pad = (x: Tensor, pads: Dim[]): Tensor => (pads.every((p) => p === 0) ? x : one("Pad", [x], { pads }));

/** [0, 1, …, length-1] in the graph of `like`. */
export function range(like: Tensor, length: Dim, dtype: DType = "int64"): Tensor {
  return like.graph.addNode("Range", [], { length, dtype })[0]!;
}

/** The runtime value of a (symbolic) dim as an int64 scalar. */
export function dimValue(like: Tensor, d: Dim): Tensor {
  return like.graph.addNode("DimValue", [], { dim: d })[0]!;
}

/** zeros of a (possibly symbolic) shape */
export function zeros(like: Tensor, shape: Dim[], dtype: DType = like.dtype): Tensor {
  return expand(like.graph.scalar(0, dtype), shape);
}

export function zerosLike(x: Tensor): Tensor {
  return zeros(x, [...x.shape]);
}
