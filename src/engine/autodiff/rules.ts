// The gradient table: one rule per primitive op. A rule gets the node, its output gradient and which
// inputs need a gradient, and returns one gradient (or null: no gradient flows) per input.
// Broadcast inputs get their gradients summed back to their own shape.

import { type Dim, type Shape, dimAdd, dimEq, dimMul, dimSub } from "../ir/dim.ts";
import { isFloat } from "../ir/dtype.ts";
import type { Node, Tensor } from "../ir/graph.ts";
import { type OpName, sliceBounds, normAxis } from "../ir/op-specs.ts";
import * as op from "../ir/ops.ts";

export interface RuleContext<O extends OpName = OpName> {
  node: Node<O>;
  /** gradient of the loss w.r.t. the node's (single) output */
  gy: Tensor;
  /** needs[i]: whether input i wants a gradient (rules may skip work for the others) */
  needs: readonly boolean[];
}

export type GradRule<O extends OpName> = (ctx: RuleContext<O>) => Array<Tensor | null>;

export class NoGradientError extends Error {
  override name = "NoGradientError";
}

/** Sum a broadcast gradient back to `shape`. g: broadcast(shape, …) */
export function reduceTo(g: Tensor, shape: Shape): Tensor {
  const lead = g.rank - shape.length;
  let r = lead > 0 ? op.sum(g, [...Array(lead).keys()], false) : g;
  const axes: number[] = [];
  shape.forEach((d, i) => {
    if (d === 1 && r.shape[i] !== 1) axes.push(i);
  });
  if (axes.length) r = op.sum(r, axes, true);
  return r;
}

const x0 = (n: Node) => n.inputs[0]!;
const x1 = (n: Node) => n.inputs[1]!;
const y0 = (n: Node) => n.outputs[0]!;

/** The value of a float scalar Constant, else null. */
function constScalar(t: Tensor): number | null {
  const n = t.node as Node<"Constant">;
  if (n.op !== "Constant" || n.attrs.shape.length !== 0 || !(n.attrs.data instanceof Float32Array)) return null;
  return n.attrs.data[0]!;
}
const none = (n: Node) => n.inputs.map(() => null);
const fl = (t: Tensor, like: Tensor) => op.cast(t, like.dtype);

/** Gradient of a binary broadcasting op from its two local derivatives. */
function binaryRule(fa: (c: RuleContext) => Tensor, fb: (c: RuleContext) => Tensor) {
  return (c: RuleContext) => [c.needs[0] ? reduceTo(fa(c), x0(c.node).shape) : null, c.needs[1] ? reduceTo(fb(c), x1(c.node).shape) : null];
}

const unaryRule = (f: (c: RuleContext, x: Tensor, y: Tensor) => Tensor) => (c: RuleContext) => [f(c, x0(c.node), y0(c.node))];

/** Torch's rule for max/min: the winner takes the gradient; ties split it evenly. */
function extremumRule(first: (a: Tensor, b: Tensor) => Tensor) {
  const share = (c: RuleContext, a: Tensor, b: Tensor) => {
    const win = fl(first(a, b), c.gy);
    const tie = fl(op.equal(a, b), c.gy);
    return op.mul(c.gy, op.add(win, op.mul(tie, 0.5)));
  };
  return binaryRule(
    (c) => share(c, x0(c.node), x1(c.node)),
    (c) => share(c, x1(c.node), x0(c.node)),
  );
}

/** Gradient of a reduction expanded back over the reduced axes. */
function unreduce(gy: Tensor, x: Tensor, axes: number[], keepdims: boolean): Tensor {
  const ax = axes.map((a) => normAxis(a, x.rank)).sort((a, b) => a - b);
  return op.expand(keepdims ? gy : op.unsqueeze(gy, ax), [...x.shape]);
}

function reducedCount(x: Tensor, axes: number[]): Tensor {
  const n = axes.reduce<Dim>((p, a) => dimMul(p, x.shape[normAxis(a, x.rank)]!), 1);
  return typeof n === "number" ? x.graph.scalar(n, x.dtype) : op.cast(op.dimValue(x, n), x.dtype);
}

/** Gradient of matmul w.r.t. its right operand, folding broadcast batch dims into one GEMM when b is 2-D. */
function matmulGradB(a: Tensor, b: Tensor, gy: Tensor): Tensor {
  if (b.rank === 2 && a.rank > 2) {
    const K = a.shape[a.rank - 1]!;
    const N = gy.shape[gy.rank - 1]!;
    const rows = a.shape.slice(0, -1).reduce<Dim>((p, d) => dimMul(p, d), 1);
    const a2 = op.reshape(a, [rows, K]); // (rows, K)
    const g2 = op.reshape(gy, [rows, N]); // (rows, N)
    return op.matmul(op.transposeLast(a2), g2); // (K, N)
  }
  return reduceTo(op.matmul(op.transposeLast(a), gy), b.shape);
}

export const GRAD_RULES: { [O in OpName]: GradRule<O> } = {
  Input: () => [],
  Initializer: () => [],
  Constant: () => [],
  Range: () => [],
  DimValue: () => [],
  Add: binaryRule(
    (c) => c.gy,
    (c) => c.gy,
  ),
  Sub: binaryRule(
    (c) => c.gy,
    (c) => op.neg(c.gy),
  ),
  Mul: binaryRule(
    (c) => op.mul(c.gy, x1(c.node)),
    (c) => op.mul(c.gy, x0(c.node)),
  ),
  // d b = −dy·a/b², from the inputs only: the quotient (a full activation in a norm's x / rms) need not
  // stay alive for the backward, while a and b (often a (…, 1) column) are kept anyway
  Div: binaryRule(
    (c) => op.div(c.gy, x1(c.node)),
    (c) => op.neg(op.div(op.mul(c.gy, x0(c.node)), op.mul(x1(c.node), x1(c.node)))),
  ),
  Pow: binaryRule(
    (c) => {
      // a constant scalar exponent (x² in norms) folds at build time: 2·x instead of a Pow(x, 1) kernel
      const k = constScalar(x1(c.node));
      if (k === 2) return op.mul(c.gy, op.mul(x0(c.node), 2));
      if (k !== null) return op.mul(c.gy, op.mul(op.pow(x0(c.node), k - 1), k));
      return op.mul(c.gy, op.mul(x1(c.node), op.pow(x0(c.node), op.sub(x1(c.node), 1))));
    },
    // d/db a^b = a^b·ln a; torch masks a = 0 to 0 and we extend that to a ≤ 0 (ln undefined)
    (c) => {
      const a = x0(c.node);
      const lnA = op.where(op.greater(a, 0), op.log(op.where(op.greater(a, 0), a, 1)), 0);
      return op.mul(c.gy, op.mul(y0(c.node), lnA));
    },
  ),
  Max: extremumRule(op.greater),
  Min: extremumRule(op.less),
  Equal: (c) => none(c.node),
  Less: (c) => none(c.node),
  Greater: (c) => none(c.node),
  And: (c) => none(c.node),
  Or: (c) => none(c.node),
  Not: (c) => none(c.node),
  Neg: unaryRule((c) => op.neg(c.gy)),
  Exp: unaryRule((c, _x, y) => op.mul(c.gy, y)),
  Log: unaryRule((c, x) => op.div(c.gy, x)),
  Sqrt: unaryRule((c, _x, y) => op.div(op.mul(c.gy, 0.5), y)),
  Reciprocal: unaryRule((c, _x, y) => op.neg(op.mul(c.gy, op.mul(y, y)))),
  Tanh: unaryRule((c, _x, y) => op.mul(c.gy, op.sub(1, op.mul(y, y)))),
  Sigmoid: unaryRule((c, _x, y) => op.mul(c.gy, op.mul(y, op.sub(1, y)))),
  Erf: unaryRule((c, x) => op.mul(c.gy, op.mul(op.exp(op.neg(op.mul(x, x))), 2 / Math.sqrt(Math.PI)))),
  Abs: unaryRule((c, x) => op.mul(c.gy, op.sign(x))),
  // sign is piecewise constant: its derivative is zero wherever it exists
  Sign: unaryRule((_c, x) => op.zerosLike(x)),
  Sin: unaryRule((c, x) => op.mul(c.gy, op.cos(x))),
  Cos: unaryRule((c, x) => op.neg(op.mul(c.gy, op.sin(x)))),
  Where: (c) => {
    const [cond, a, b] = c.node.inputs as [Tensor, Tensor, Tensor];
    const zero = op.zerosLike(c.gy);
    return [
      null,
      c.needs[1] ? reduceTo(op.where(cond, c.gy, zero), a.shape) : null,
      c.needs[2] ? reduceTo(op.where(cond, zero, c.gy), b.shape) : null,
    ];
  },
  Cast: (c) => {
    const x = x0(c.node);
    if (!isFloat(x.dtype) || !isFloat(c.node.attrs.to)) return [null];
    return [op.cast(c.gy, x.dtype)];
  },
  Identity: (c) => [c.node.attrs.stopGradient ? null : c.gy],
  MatMul: (c) => {
    const [a, b] = c.node.inputs as [Tensor, Tensor];
    return [c.needs[0] ? reduceTo(op.matmul(c.gy, op.transposeLast(b)), a.shape) : null, c.needs[1] ? matmulGradB(a, b, c.gy) : null];
  },
  MatMulNBits: () => {
    throw new NoGradientError("MatMulNBits: quantized weights are for inference graphs, not training");
  },
  ReduceSum: (c) => [unreduce(c.gy, x0(c.node), c.node.attrs.axes, c.node.attrs.keepdims)],
  ReduceMean: (c) => {
    const x = x0(c.node);
    const g = unreduce(c.gy, x, c.node.attrs.axes, c.node.attrs.keepdims);
    return [op.div(g, reducedCount(x, c.node.attrs.axes))];
  },
  ReduceMax: (c) => {
    // torch's amax: ties share the gradient evenly
    const x = x0(c.node);
    const { axes } = c.node.attrs;
    const yk = unreduce(y0(c.node), x, axes, c.node.attrs.keepdims);
    const hit = fl(op.equal(x, yk), x);
    const ties = op.sum(hit, axes, true);
    return [op.div(op.mul(hit, unreduce(c.gy, x, axes, c.node.attrs.keepdims)), ties)];
  },
  // the fused rules read only the op's output (softmaxes) or inputs (SwiGlu, cross-entropy), never the
  // intermediates of a composite, so a training graph keeps one tensor per op for the backward
  Softmax: (c) => {
    // dx = y ⊙ (dy − Σ dy ⊙ y)
    const y = y0(c.node);
    const { axis } = c.node.attrs;
    return [op.mul(y, op.sub(c.gy, op.sum(op.mul(c.gy, y), axis, true)))];
  },
  LogSoftmax: (c) => {
    // dx = dy − softmax(x) · Σ dy, softmax(x) = exp(y)
    const { axis } = c.node.attrs;
    return [op.sub(c.gy, op.mul(op.exp(y0(c.node)), op.sum(c.gy, axis, true)))];
  },
  SwiGlu: (c) => {
    // σ recomputed from the gate: d up = dy · g σ(g), d gate = dy · up · σ(g) (1 + g (1 − σ(g)))
    const [g, up] = c.node.inputs as [Tensor, Tensor];
    const s = op.sigmoid(g);
    return [
      c.needs[0] ? op.mul(op.mul(c.gy, up), op.mul(s, op.add(op.mul(g, op.sub(1, s)), 1))) : null,
      c.needs[1] ? op.mul(c.gy, op.mul(g, s)) : null,
    ];
  },
  SoftmaxCrossEntropy: (c) => {
    // d logits = (softmax(logits) − onehot(label)) · dy, recomputed from the logits; 0 on ignored rows
    const [logits, labels] = c.node.inputs as [Tensor, Tensor];
    const last = logits.rank - 1;
    const keep = op.not(op.equal(labels, c.node.attrs.ignoreIndex)); // (…)
    const keepF = fl(keep, logits);
    const safe = op.unsqueeze(op.where(keep, labels, 0), [last]); // (…, 1)
    const shifted = op.scatterElementsAdd(op.softmax(logits, -1), safe, op.unsqueeze(op.neg(keepF), [last]), last); // (…, V)
    // where, not a product with the mask: ignored rows get +0 (softmax ≥ 0 times +0), never −0
    return [op.mul(shifted, op.unsqueeze(op.where(keep, c.gy, 0), [last])), null];
  },
  Reshape: (c) => [op.reshape(c.gy, [...x0(c.node).shape])],
  Transpose: (c) => {
    const inv: number[] = [];
    c.node.attrs.perm.forEach((p, i) => (inv[p] = i));
    return [op.transpose(c.gy, inv)];
  },
  Slice: (c) => {
    const x = x0(c.node);
    const ax = normAxis(c.node.attrs.axis, x.rank);
    const { begin, size } = sliceBounds(x.shape[ax]!, c.node.attrs.start, c.node.attrs.end);
    const pads: Dim[] = Array(2 * x.rank).fill(0);
    pads[ax] = begin;
    pads[ax + x.rank] = dimSub(dimSub(x.shape[ax]!, begin), size);
    return [op.pad(c.gy, pads)];
  },
  Concat: (c) => {
    const ax = normAxis(c.node.attrs.axis, c.gy.rank);
    let offset: Dim = 0;
    return c.node.inputs.map((t, i) => {
      const start = offset;
      offset = dimAdd(offset, t.shape[ax]!);
      if (!c.needs[i]) return null;
      const whole = dimEq(t.shape[ax]!, c.gy.shape[ax]!);
      return whole ? c.gy : op.slice(c.gy, ax, start, offset);
    });
  },
  Gather: (c) => {
    const [x, idx] = c.node.inputs as [Tensor, Tensor];
    const ax = normAxis(c.node.attrs.axis, x.rank);
    // move the gathered axis to the front, scatter-add rows, move it back
    const ir = idx.rank;
    const gyPerm = [...Array(ir).keys()].map((i) => ax + i);
    for (let i = 0; i < c.gy.rank; i++) if (i < ax || i >= ax + ir) gyPerm.push(i);
    const gyT = op.transpose(c.gy, gyPerm); // (I…, x without ax)
    const xPerm = [ax, ...[...Array(x.rank).keys()].filter((i) => i !== ax)];
    const zerosT = op.zeros(
      x,
      xPerm.map((p) => x.shape[p]!),
    );
    const ind = op.unsqueeze(op.cast(idx, "int64"), [ir]); // (I…, 1)
    const scattered = op.scatterNDAdd(zerosT, ind, gyT);
    const inv: number[] = [];
    xPerm.forEach((p, i) => (inv[p] = i));
    return [op.transpose(scattered, inv), null];
  },
  GatherElements: (c) => {
    const [x, idx] = c.node.inputs as [Tensor, Tensor];
    return [op.scatterElementsAdd(op.zerosLike(x), idx, c.gy, c.node.attrs.axis), null];
  },
  ScatterElementsAdd: (c) => {
    const idx = x1(c.node);
    return [c.gy, null, c.needs[2] ? op.gatherElements(c.gy, idx, c.node.attrs.axis) : null];
  },
  ScatterNDAdd: (c) => {
    if (c.needs[2]) throw new NoGradientError("ScatterNDAdd: no gradient rule for the updates input");
    return [c.gy, null, null];
  },
  Expand: (c) => [reduceTo(c.gy, x0(c.node).shape)],
  Squeeze: (c) => [
    op.unsqueeze(
      c.gy,
      c.node.attrs.axes.map((a) => normAxis(a, x0(c.node).rank)),
    ),
  ],
  Unsqueeze: (c) => [
    op.squeeze(
      c.gy,
      c.node.attrs.axes.map((a) => normAxis(a, c.gy.rank)),
    ),
  ],
  Pad: (c) => {
    const x = x0(c.node);
    let g = c.gy;
    x.shape.forEach((d, i) => {
      const b = c.node.attrs.pads[i]!;
      if (b !== 0 || !dimEq(g.shape[i]!, d)) g = op.slice(g, i, b, dimAdd(b, d));
    });
    return [g];
  },
};
