// The primitive op set: each op's attributes and its dtype/shape inference. Every other table
// (reference kernels, ONNX lowering, gradient rules) is keyed by these names and must cover them all.

import { type Dim, type Shape, dim, dimAdd, dimEq, dimProduct, dimSub, formatShape } from "./dim.ts";
import { type AnyTypedArray, type DType, isFloat, isInt } from "./dtype.ts";
import type { Tensor } from "./graph.ts";
import type { QuantizedMatrix } from "../quant/blockwise.ts";

type NoAttrs = Record<string, never>;
type ReduceAttrs = { axes: number[]; keepdims: boolean };

export interface OpAttrMap {
  Input: { name: string; dtype: DType; shape: Dim[] };
  Initializer: { name: string; dtype: DType; shape: number[]; data: AnyTypedArray };
  Constant: { dtype: DType; shape: number[]; data: AnyTypedArray };
  // elementwise binary, numpy broadcasting
  Add: NoAttrs;
  Sub: NoAttrs;
  Mul: NoAttrs;
  Div: NoAttrs;
  Pow: NoAttrs;
  Max: NoAttrs;
  Min: NoAttrs;
  Equal: NoAttrs;
  Less: NoAttrs;
  Greater: NoAttrs;
  And: NoAttrs;
  Or: NoAttrs;
  // elementwise unary
  Neg: NoAttrs;
  Exp: NoAttrs;
  Log: NoAttrs;
  Sqrt: NoAttrs;
  Reciprocal: NoAttrs;
  Tanh: NoAttrs;
  Sigmoid: NoAttrs;
  Erf: NoAttrs;
  Abs: NoAttrs;
  Sign: NoAttrs;
  Sin: NoAttrs;
  Cos: NoAttrs;
  Not: NoAttrs;
  /** where(cond, a, b) */
  Where: NoAttrs;
  Cast: { to: DType };
  /** Identity; stopGradient blocks backprop through it. */
  Identity: { stopGradient: boolean };
  /** numpy matmul on rank ≥ 2, batch dims broadcast */
  MatMul: NoAttrs;
  /**
   * x (…, K) float32 times a blockwise-quantized weight (N, K), transposed: → (…, N). Lowers to ONNX Runtime's
   * com.microsoft MatMulNBits; the weight travels with the op, as an Initializer's data does. name: the
   * weight's (initializer names derive from it); accuracyLevel: MatMulNBits' minimum compute precision
   * (0 float32 unset, 4 int8 activations — the fast path of its CPU kernel)
   */
  MatMulNBits: { weight: QuantizedMatrix; name: string; accuracyLevel: 0 | 1 | 2 | 3 | 4 };
  ReduceSum: ReduceAttrs;
  ReduceMean: ReduceAttrs;
  ReduceMax: ReduceAttrs;
  /**
   * Fused ops whose gradient rules read only their output or inputs, so a training graph keeps one
   * tensor per op alive for the backward instead of every intermediate of the composite.
   * softmax / log-softmax over one axis (max-subtracted)
   */
  Softmax: { axis: number };
  LogSoftmax: { axis: number };
  /** silu(gate) · up, elementwise: the llama MLP's gate. inputs (gate, up) of one shape */
  SwiGlu: NoAttrs;
  /**
   * −log softmax(logits)[label] over the last axis; 0 where label = ignoreIndex.
   * inputs logits (…, V) float, labels (…) int → (…)
   */
  SoftmaxCrossEntropy: { ignoreIndex: number };
  Reshape: { shape: Dim[] };
  Transpose: { perm: number[] };
  /**
   * One axis, step 1. Negative numeric start/end count from the end; symbolic ones (e.g. "P") are
   * absolute positions; end null = to the end.
   */
  Slice: { axis: number; start: Dim; end: Dim | null };
  Concat: { axis: number };
  /** data.take(indices, axis) */
  Gather: { axis: number };
  GatherElements: { axis: number };
  /** out = data; out[.., idx[..], ..] += updates (ONNX ScatterElements, reduction add) */
  ScatterElementsAdd: { axis: number };
  /** out = data; out[idx[i]] += updates[i] over the leading index dims (ONNX ScatterND, reduction add) */
  ScatterNDAdd: NoAttrs;
  Expand: { shape: Dim[] };
  Squeeze: { axes: number[] };
  Unsqueeze: { axes: number[] };
  /** zero padding; pads = [begin_0..begin_{r-1}, end_0..end_{r-1}] */
  Pad: { pads: Dim[] };
  /** [0, 1, …, length-1] */
  Range: { length: Dim; dtype: DType };
  /** the runtime value of a (symbolic) dim, as an int64 scalar */
  DimValue: { dim: Dim };
}

export type OpName = keyof OpAttrMap;

export interface OpSpec<O extends OpName> {
  arity: number | "variadic";
  infer(inputs: readonly Tensor[], attrs: OpAttrMap[O]): Array<{ dtype: DType; shape: Shape }>;
}

function fail(msg: string): never {
  throw new Error(msg);
}

export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) fail(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** numpy broadcasting over symbolic dims; distinct symbols never broadcast against each other. */
export function broadcastShapes(a: Shape, b: Shape): Dim[] {
  const r = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (dimEq(da, db) || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else fail(`cannot broadcast ${formatShape(a)} with ${formatShape(b)}`);
  }
  return out;
}

function sameDtype(ts: readonly Tensor[]): DType {
  const d = ts[0]!.dtype;
  for (const t of ts) if (t.dtype !== d) fail(`dtype mismatch: ${ts.map((x) => x.dtype).join(" vs ")}`);
  return d;
}

const binary =
  (kind: "float" | "num" | "cmp" | "bool"): OpSpec<"Add">["infer"] =>
  (ins) => {
    const d = sameDtype(ins);
    if (kind === "float" && !isFloat(d)) fail(`needs floating inputs, got ${d}`);
    if ((kind === "num" || kind === "cmp") && d === "bool") fail(`needs numeric inputs, got bool`);
    if (kind === "bool" && d !== "bool") fail(`needs bool inputs, got ${d}`);
    const shape = broadcastShapes(ins[0]!.shape, ins[1]!.shape);
    return [{ dtype: kind === "cmp" ? "bool" : d, shape }];
  };

const unary =
  (kind: "float" | "num" | "bool"): OpSpec<"Neg">["infer"] =>
  ([x]) => {
    if (kind === "float" && !isFloat(x!.dtype)) fail(`needs a floating input, got ${x!.dtype}`);
    if (kind === "num" && x!.dtype === "bool") fail(`needs a numeric input`);
    if (kind === "bool" && x!.dtype !== "bool") fail(`needs a bool input`);
    return [{ dtype: x!.dtype, shape: x!.shape }];
  };

function reduceInfer([x]: readonly Tensor[], { axes, keepdims }: ReduceAttrs) {
  const r = x!.rank;
  const ax = new Set(axes.map((a) => normAxis(a, r)));
  if (ax.size !== axes.length) fail(`repeated reduction axes ${axes}`);
  const shape: Dim[] = [];
  x!.shape.forEach((d, i) => {
    if (!ax.has(i)) shape.push(d);
    else if (keepdims) shape.push(1);
  });
  return [{ dtype: x!.dtype, shape }];
}

function softmaxInfer([x]: readonly Tensor[], { axis }: { axis: number }) {
  if (!isFloat(x!.dtype)) fail(`needs a floating input, got ${x!.dtype}`);
  normAxis(axis, x!.rank);
  return [{ dtype: x!.dtype, shape: x!.shape }];
}

/** Start and size of a step-1 slice of a dim; numeric bounds on a numeric dim clamp like ONNX. */
export function sliceBounds(d: Dim, start: Dim, end: Dim | null): { begin: Dim; size: Dim } {
  if (typeof d === "number" && typeof start === "number" && (end === null || typeof end === "number")) {
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
    const b = clamp(start);
    const e = end === null ? d : clamp(end);
    return { begin: b, size: Math.max(e - b, 0) };
  }
  // symbolic: bounds are taken as in range (no clamping is possible at build time)
  const abs = (v: Dim) => (typeof v === "number" && v < 0 ? dimAdd(d, v) : v);
  const begin = abs(start);
  const size = dimSub(end === null ? d : abs(end), begin);
  if (typeof size === "number" && size < 0) fail(`slice [${start}:${end ?? ""}] of '${d}' has negative size`);
  return { begin, size };
}

export const OP_SPECS: { [O in OpName]: OpSpec<O> } = {
  Input: { arity: 0, infer: (_, a) => [{ dtype: a.dtype, shape: a.shape }] },
  Initializer: { arity: 0, infer: (_, a) => [{ dtype: a.dtype, shape: a.shape }] },
  Constant: { arity: 0, infer: (_, a) => [{ dtype: a.dtype, shape: a.shape }] },
  Add: { arity: 2, infer: binary("num") },
  Sub: { arity: 2, infer: binary("num") },
  Mul: { arity: 2, infer: binary("num") },
  Div: { arity: 2, infer: binary("num") },
  Pow: { arity: 2, infer: binary("float") },
  Max: { arity: 2, infer: binary("num") },
  Min: { arity: 2, infer: binary("num") },
  Equal: { arity: 2, infer: binary("cmp") },
  Less: { arity: 2, infer: binary("cmp") },
  Greater: { arity: 2, infer: binary("cmp") },
  And: { arity: 2, infer: binary("bool") },
  Or: { arity: 2, infer: binary("bool") },
  Neg: { arity: 1, infer: unary("num") },
  Exp: { arity: 1, infer: unary("float") },
  Log: { arity: 1, infer: unary("float") },
  Sqrt: { arity: 1, infer: unary("float") },
  Reciprocal: { arity: 1, infer: unary("float") },
  Tanh: { arity: 1, infer: unary("float") },
  Sigmoid: { arity: 1, infer: unary("float") },
  Erf: { arity: 1, infer: unary("float") },
  Abs: { arity: 1, infer: unary("num") },
  Sign: { arity: 1, infer: unary("num") },
  Sin: { arity: 1, infer: unary("float") },
  Cos: { arity: 1, infer: unary("float") },
  Not: { arity: 1, infer: unary("bool") },
  Where: {
    arity: 3,
    infer: ([c, a, b]) => {
      if (c!.dtype !== "bool") fail(`condition must be bool, got ${c!.dtype}`);
      const d = sameDtype([a!, b!]);
      // onnxruntime has no bool Where kernel; and/or express the same
      if (d === "bool") fail(`bool values are not supported; use and/or`);
      return [{ dtype: d, shape: broadcastShapes(c!.shape, broadcastShapes(a!.shape, b!.shape)) }];
    },
  },
  Cast: { arity: 1, infer: ([x], a) => [{ dtype: a.to, shape: x!.shape }] },
  Identity: { arity: 1, infer: ([x]) => [{ dtype: x!.dtype, shape: x!.shape }] },
  MatMul: {
    arity: 2,
    infer: (ins) => {
      const [a, b] = ins;
      const d = sameDtype(ins);
      if (!isFloat(d)) fail(`needs floating inputs`);
      if (a!.rank < 2 || b!.rank < 2) fail(`needs rank ≥ 2 operands`);
      const k1 = a!.shape[a!.rank - 1]!;
      const k2 = b!.shape[b!.rank - 2]!;
      if (!dimEq(k1, k2)) fail(`inner dims differ (${k1} vs ${k2})`);
      const batch = broadcastShapes(a!.shape.slice(0, -2), b!.shape.slice(0, -2));
      return [{ dtype: d, shape: [...batch, a!.shape[a!.rank - 2]!, b!.shape[b!.rank - 1]!] }];
    },
  },
  MatMulNBits: {
    arity: 1,
    infer: ([x], { weight }) => {
      if (x!.dtype !== "float32") fail(`needs a float32 input, got ${x!.dtype}`);
      if (x!.rank < 1 || !dimEq(x!.shape[x!.rank - 1]!, weight.K)) fail(`input's last dim must be K = ${weight.K}`);
      return [{ dtype: "float32", shape: [...x!.shape.slice(0, -1), weight.N] }];
    },
  },
  ReduceSum: { arity: 1, infer: reduceInfer },
  ReduceMean: { arity: 1, infer: reduceInfer },
  ReduceMax: { arity: 1, infer: reduceInfer },
  Softmax: { arity: 1, infer: softmaxInfer },
  LogSoftmax: { arity: 1, infer: softmaxInfer },
  SwiGlu: {
    arity: 2,
    infer: ([gate, up]) => {
      const d = sameDtype([gate!, up!]);
      if (!isFloat(d)) fail(`needs floating inputs, got ${d}`);
      if (gate!.rank !== up!.rank || !gate!.shape.every((s, i) => dimEq(s, up!.shape[i]!))) {
        fail(`gate ${formatShape(gate!.shape)} and up ${formatShape(up!.shape)} differ in shape`);
      }
      return [{ dtype: d, shape: gate!.shape }];
    },
  },
  SoftmaxCrossEntropy: {
    arity: 2,
    infer: ([logits, labels]) => {
      if (!isFloat(logits!.dtype)) fail(`logits must be floating, got ${logits!.dtype}`);
      if (!isInt(labels!.dtype)) fail(`labels must be int32/int64, got ${labels!.dtype}`);
      const lead = logits!.shape.slice(0, -1);
      if (logits!.rank < 1 || labels!.rank !== lead.length || !lead.every((s, i) => dimEq(s, labels!.shape[i]!))) {
        fail(`labels ${formatShape(labels!.shape)} must be logits ${formatShape(logits!.shape)} without its last axis`);
      }
      return [{ dtype: logits!.dtype, shape: lead }];
    },
  },
  Reshape: {
    arity: 1,
    infer: ([x], { shape }) => {
      const from = dimProduct(x!.shape);
      const to = dimProduct(shape);
      if (!dimEq(from, to)) fail(`element counts differ: ${from} vs ${to} (target ${formatShape(shape)})`);
      return [{ dtype: x!.dtype, shape }];
    },
  },
  Transpose: {
    arity: 1,
    infer: ([x], { perm }) => {
      if (perm.length !== x!.rank || [...perm].sort((p, q) => p - q).some((p, i) => p !== i)) {
        fail(`perm ${JSON.stringify(perm)} is not a permutation of rank ${x!.rank}`);
      }
      return [{ dtype: x!.dtype, shape: perm.map((p) => x!.shape[p]!) }];
    },
  },
  Slice: {
    arity: 1,
    infer: ([x], { axis, start, end }) => {
      const ax = normAxis(axis, x!.rank);
      const shape = [...x!.shape];
      shape[ax] = sliceBounds(shape[ax]!, start, end).size;
      return [{ dtype: x!.dtype, shape }];
    },
  },
  Concat: {
    arity: "variadic",
    infer: (ins, { axis }) => {
      if (ins.length === 0) fail(`needs at least one input`);
      const d = sameDtype(ins);
      const r = ins[0]!.rank;
      const ax = normAxis(axis, r);
      const shape = [...ins[0]!.shape];
      for (const t of ins.slice(1)) {
        if (t.rank !== r) fail(`rank mismatch`);
        t.shape.forEach((s, i) => {
          if (i !== ax && !dimEq(s, shape[i]!)) fail(`dim ${i} differs (${s} vs ${shape[i]})`);
        });
        shape[ax] = dimAdd(shape[ax]!, t.shape[ax]!);
      }
      return [{ dtype: d, shape }];
    },
  },
  Gather: {
    arity: 2,
    infer: ([x, idx], { axis }) => {
      if (!isInt(idx!.dtype)) fail(`indices must be int32/int64`);
      const ax = normAxis(axis, x!.rank);
      return [{ dtype: x!.dtype, shape: [...x!.shape.slice(0, ax), ...idx!.shape, ...x!.shape.slice(ax + 1)] }];
    },
  },
  GatherElements: {
    arity: 2,
    infer: ([x, idx], { axis }) => {
      if (!isInt(idx!.dtype)) fail(`indices must be int32/int64`);
      if (idx!.rank !== x!.rank) fail(`indices rank must equal data rank`);
      normAxis(axis, x!.rank);
      return [{ dtype: x!.dtype, shape: idx!.shape }];
    },
  },
  ScatterElementsAdd: {
    arity: 3,
    infer: ([x, idx, upd], { axis }) => {
      if (!isInt(idx!.dtype)) fail(`indices must be int32/int64`);
      if (idx!.rank !== x!.rank || !idx!.shape.every((d, i) => dimEq(d, upd!.shape[i]!))) {
        fail(`indices and updates must share a shape of the data's rank`);
      }
      sameDtype([x!, upd!]);
      normAxis(axis, x!.rank);
      return [{ dtype: x!.dtype, shape: x!.shape }];
    },
  },
  ScatterNDAdd: {
    arity: 3,
    infer: ([x, idx, upd]) => {
      if (!isInt(idx!.dtype)) fail(`indices must be int32/int64`);
      const k = idx!.shape[idx!.rank - 1];
      if (typeof k !== "number" || k > x!.rank) fail(`last indices dim must be a static size ≤ data rank`);
      const want = [...idx!.shape.slice(0, -1), ...x!.shape.slice(k)];
      if (want.length !== upd!.rank || !want.every((d, i) => dimEq(d, upd!.shape[i]!))) {
        fail(`updates must have shape ${formatShape(want)}`);
      }
      sameDtype([x!, upd!]);
      return [{ dtype: x!.dtype, shape: x!.shape }];
    },
  },
  Expand: {
    arity: 1,
    infer: ([x], { shape }) => {
      const out = broadcastShapes(x!.shape, shape);
      if (out.length !== shape.length || !out.every((d, i) => dimEq(d, shape[i]!))) {
        fail(`cannot expand to ${formatShape(shape)}`);
      }
      return [{ dtype: x!.dtype, shape }];
    },
  },
  Squeeze: {
    arity: 1,
    infer: ([x], { axes }) => {
      const ax = new Set(axes.map((a) => normAxis(a, x!.rank)));
      for (const a of ax) if (x!.shape[a] !== 1) fail(`axis ${a} has size ${x!.shape[a]}, not 1`);
      return [{ dtype: x!.dtype, shape: x!.shape.filter((_, i) => !ax.has(i)) }];
    },
  },
  Unsqueeze: {
    arity: 1,
    infer: ([x], { axes }) => {
      const r = x!.rank + axes.length;
      const ax = new Set(axes.map((a) => normAxis(a, r)));
      if (ax.size !== axes.length) fail(`repeated axes`);
      const shape: Dim[] = [];
      let j = 0;
      for (let i = 0; i < r; i++) shape.push(ax.has(i) ? 1 : x!.shape[j++]!);
      return [{ dtype: x!.dtype, shape }];
    },
  },
  Pad: {
    arity: 1,
    infer: ([x], { pads }) => {
      const r = x!.rank;
      if (pads.length !== 2 * r) fail(`pads must have ${2 * r} entries`);
      return [{ dtype: x!.dtype, shape: x!.shape.map((d, i) => dimAdd(dimAdd(d, pads[i]!), pads[i + r]!)) }];
    },
  },
  Range: { arity: 0, infer: (_, a) => [{ dtype: a.dtype, shape: [dim(a.length)] }] },
  DimValue: { arity: 0, infer: () => [{ dtype: "int64", shape: [] }] },
};
