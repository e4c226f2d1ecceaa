// One lowering rule per primitive op, in a table keyed by OpName so the compiler enforces that
// every op is covered. Each rule emits ONNX (opset 18) nodes — com.microsoft contrib ops for quantized
// matmuls — and returns its outputs' value names.

import type { Node, Tensor } from "../ir/graph.ts";
import { allocTyped } from "../ir/dtype.ts";
import type { OpName } from "../ir/op-specs.ts";
import type { OnnxBuilder } from "./builder.ts";
import type { DimLowering } from "./dims.ts";
import { onnxElemType } from "./proto.ts";
import { kBlocks } from "../quant/blockwise.ts";

export interface LowerContext {
  readonly b: OnnxBuilder;
  readonly dims: DimLowering;
  /** Value name for a node output: its requested graph-output name if it has one, else a fresh one. */
  name(t: Tensor): string;
  /** Declare an IR input as an ONNX graph input; returns its name. */
  input(node: Node<"Input">): string;
}

export type LowerRule<O extends OpName> = (cx: LowerContext, node: Node<O>, ins: string[]) => string[];

const INT64_MAX = 9223372036854775807n;

const out0 = (cx: LowerContext, n: Node) => [cx.name(n.outputs[0]!)];

/** Ops whose ONNX namesake has the same semantics and no attributes. */
const same =
  (opType: string) =>
  (cx: LowerContext, n: Node, ins: string[]): string[] =>
    cx.b.emit(opType, ins, out0(cx, n));

/** Opset 18 reductions take axes as an input; empty axes must mean "no reduction", not "all". */
const reduce =
  (opType: string) =>
  (cx: LowerContext, n: Node<"ReduceSum" | "ReduceMean" | "ReduceMax">, [x]: string[]): string[] =>
    cx.b.emit(opType, [x!, cx.b.i64(n.attrs.axes)], out0(cx, n), {
      keepdims: n.attrs.keepdims ? 1 : 0,
      noop_with_empty_axes: 1,
    });

/** int64 labels: the ONNX ops around them take int64 constants only once the labels are int64 too */
function labels64(cx: LowerContext, n: Node, name: string): string {
  return n.inputs[1]!.dtype === "int64" ? name : cx.b.emit("Cast", [name], 1, { to: onnxElemType("int64") })[0]!;
}

export const LOWERING: { [O in OpName]: LowerRule<O> } = {
  Input: (cx, n) => [cx.input(n)],
  Initializer: (cx, { attrs: a }) => [cx.b.initializer(a.name, a.dtype, a.shape, a.data)],
  Constant: (cx, { attrs: a }) => [cx.b.constant(a.dtype, a.shape, a.data)],
  Add: same("Add"),
  Sub: same("Sub"),
  Mul: same("Mul"),
  Div: same("Div"),
  Pow: same("Pow"),
  Max: same("Max"),
  Min: same("Min"),
  Equal: same("Equal"),
  Less: same("Less"),
  Greater: same("Greater"),
  And: same("And"),
  Or: same("Or"),
  Neg: same("Neg"),
  Exp: same("Exp"),
  Log: same("Log"),
  Sqrt: same("Sqrt"),
  Reciprocal: same("Reciprocal"),
  Tanh: same("Tanh"),
  Sigmoid: same("Sigmoid"),
  Erf: same("Erf"),
  Abs: same("Abs"),
  Sign: same("Sign"),
  Sin: same("Sin"),
  Cos: same("Cos"),
  Not: same("Not"),
  Where: same("Where"),
  Cast: (cx, n, ins) => cx.b.emit("Cast", ins, out0(cx, n), { to: onnxElemType(n.attrs.to) }),
  // stopGradient only matters to autodiff; ORT drops the copy
  Identity: same("Identity"),
  MatMul: same("MatMul"),
  MatMulNBits: (cx, n, [x]) => {
    const { weight: w, name, accuracyLevel } = n.attrs;
    const nb = kBlocks(w.K, w.blockSize);
    const ins = [
      x!,
      cx.b.bytes([w.N, nb, (w.blockSize * w.bits) / 8], w.packed, `${name}.codes`),
      cx.b.constant("float32", [w.N * nb], w.scales, `${name}.scales`),
    ];
    if (w.zeroPoints) ins.push(cx.b.bytes([w.zeroPoints.length], w.zeroPoints, `${name}.zeros`));
    const attrs = { K: w.K, N: w.N, bits: w.bits, block_size: w.blockSize, accuracy_level: accuracyLevel };
    return cx.b.emit("MatMulNBits", ins, out0(cx, n), attrs, "com.microsoft");
  },
  ReduceSum: reduce("ReduceSum"),
  ReduceMean: reduce("ReduceMean"),
  ReduceMax: reduce("ReduceMax"),
  Softmax: (cx, n, ins) => cx.b.emit("Softmax", ins, out0(cx, n), { axis: n.attrs.axis }),
  LogSoftmax: (cx, n, ins) => cx.b.emit("LogSoftmax", ins, out0(cx, n), { axis: n.attrs.axis }),
  SwiGlu: (cx, n, [gate, up]) => {
    const silu = cx.b.emit("Mul", [gate!, cx.b.emit("Sigmoid", [gate!])[0]!])[0]!;
    return cx.b.emit("Mul", [silu, up!], out0(cx, n));
  },
  SoftmaxCrossEntropy: (cx, n, [logits, labels]) => {
    // log-softmax rows, the label's entry picked (index 0 on ignored rows), negated, 0 where ignored
    const b = cx.b;
    const last = n.inputs[0]!.rank - 1;
    const lab = labels64(cx, n, labels!);
    const keep = b.emit("Not", [b.emit("Equal", [lab, b.i64([n.attrs.ignoreIndex], [])])[0]!])[0]!;
    const safe = b.emit("Where", [keep, lab, b.i64([0], [])])[0]!;
    const lsm = b.emit("LogSoftmax", [logits!], 1, { axis: last })[0]!;
    const picked = b.emit("GatherElements", [lsm, b.emit("Unsqueeze", [safe, b.i64([last])])[0]!], 1, { axis: last })[0]!;
    const nll = b.emit("Neg", [b.emit("Squeeze", [picked, b.i64([last])])[0]!])[0]!;
    const zero = b.constant(n.inputs[0]!.dtype, [], allocTyped(n.inputs[0]!.dtype, 1));
    return b.emit("Where", [keep, nll, zero], out0(cx, n));
  },
  // allowzero: a 0 in the target is a real zero-size axis (P = 0), never "copy the input dim"
  Reshape: (cx, n, [x]) => cx.b.emit("Reshape", [x!, cx.dims.vector(n.attrs.shape)], out0(cx, n), { allowzero: 1 }),
  Transpose: (cx, n, ins) => cx.b.emit("Transpose", ins, out0(cx, n), { perm: n.attrs.perm }),
  Slice: (cx, n, [x]) => {
    const { axis, start, end } = n.attrs;
    const ends = end === null ? cx.b.i64([INT64_MAX]) : cx.dims.one(end);
    return cx.b.emit("Slice", [x!, cx.dims.one(start), ends, cx.b.i64([axis])], out0(cx, n));
  },
  Concat: (cx, n, ins) => cx.b.emit("Concat", ins, out0(cx, n), { axis: n.attrs.axis }),
  Gather: (cx, n, ins) => cx.b.emit("Gather", ins, out0(cx, n), { axis: n.attrs.axis }),
  GatherElements: (cx, n, ins) => cx.b.emit("GatherElements", ins, out0(cx, n), { axis: n.attrs.axis }),
  ScatterElementsAdd: (cx, n, ins) => cx.b.emit("ScatterElements", ins, out0(cx, n), { axis: n.attrs.axis, reduction: "add" }),
  ScatterNDAdd: (cx, n, [x, idx, upd]) => {
    // ScatterND indices are int64 only
    const idx64 = n.inputs[1]!.dtype === "int64" ? idx! : cx.b.emit("Cast", [idx!], 1, { to: onnxElemType("int64") })[0]!;
    return cx.b.emit("ScatterND", [x!, idx64, upd!], out0(cx, n), { reduction: "add" });
  },
  Expand: (cx, n, [x]) => cx.b.emit("Expand", [x!, cx.dims.vector(n.attrs.shape)], out0(cx, n)),
  Squeeze: (cx, n, [x]) => cx.b.emit("Squeeze", [x!, cx.b.i64(n.attrs.axes)], out0(cx, n)),
  Unsqueeze: (cx, n, [x]) => cx.b.emit("Unsqueeze", [x!, cx.b.i64(n.attrs.axes)], out0(cx, n)),
  Pad: (cx, n, [x]) => cx.b.emit("Pad", [x!, cx.dims.vector(n.attrs.pads)], out0(cx, n), { mode: "constant" }),
  Range: (cx, n) => {
    const { length, dtype } = n.attrs;
    const ints = [cx.b.i64([0], []), cx.dims.scalar(length), cx.b.i64([1], [])];
    if (dtype === "int64") return cx.b.emit("Range", ints, out0(cx, n));
    const r = cx.b.emit("Range", ints)[0]!;
    return cx.b.emit("Cast", [r], out0(cx, n), { to: onnxElemType(dtype) });
  },
  DimValue: (cx, n) => [cx.dims.scalar(n.attrs.dim)],
};
