// Reverse-mode autodiff over the graph IR: appends gradient nodes to the same graph.
// Only nodes on a path from a wanted tensor to the loss are visited; a missing rule is an error.

import { formatShape, dimEq } from "../ir/dim.ts";
import { isFloat } from "../ir/dtype.ts";
import { GraphError, type Node, type Tensor, ancestors } from "../ir/graph.ts";
import * as op from "../ir/ops.ts";
import { GRAD_RULES, NoGradientError, type GradRule } from "./rules.ts";

export interface GradOptions {
  /** gradient of the final result w.r.t. `y` (default: 1 for a scalar y) */
  seed?: Tensor;
}

/**
 * Gradients of `y` w.r.t. each tensor in `wrt`, as new tensors of the same graph.
 * A tensor that `y` does not depend on gets zeros.
 */
export function grad(y: Tensor, wrt: readonly Tensor[], opts: GradOptions = {}): Tensor[] {
  if (!isFloat(y.dtype)) throw new GraphError(`grad: ${y} is not floating point`);
  for (const w of wrt) {
    if (w.graph !== y.graph) throw new GraphError(`grad: ${w} belongs to another graph`);
    if (!isFloat(w.dtype)) throw new GraphError(`grad: cannot differentiate w.r.t. ${w.dtype} tensor ${w}`);
  }
  let seed = opts.seed;
  if (!seed) {
    if (y.rank !== 0) throw new GraphError(`grad: ${y} is not a scalar; pass a seed gradient`);
    seed = y.graph.scalar(1, y.dtype);
  } else if (seed.rank !== y.rank || !seed.shape.every((d, i) => dimEq(d, y.shape[i]!))) {
    throw new GraphError(`grad: seed shape ${formatShape(seed.shape)} differs from ${formatShape(y.shape)}`);
  }

  const nodes = ancestors([y]);
  // tensors through which a wanted tensor influences y
  const wanted = new Set(wrt.map((t) => t.id));
  const flows = new Set<number>(wanted);
  for (const n of nodes) {
    if (n.op === "Identity" && (n as Node<"Identity">).attrs.stopGradient) continue;
    if (n.inputs.some((t) => flows.has(t.id))) for (const o of n.outputs) if (isFloat(o.dtype)) flows.add(o.id);
  }

  const grads = new Map<number, Tensor>([[y.id, seed]]);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    const gy = grads.get(n.outputs[0]!.id);
    if (!gy || n.inputs.length === 0) continue;
    const needs = n.inputs.map((t) => flows.has(t.id));
    if (!needs.some(Boolean)) continue;
    const rule = GRAD_RULES[n.op] as GradRule<typeof n.op> | undefined;
    if (!rule) throw new NoGradientError(`no gradient rule for op ${n.op}`);
    const gx = rule({ node: n as never, gy, needs });
    n.inputs.forEach((t, k) => {
      const g = gx[k];
      if (!needs[k] || !g) return;
      if (g.rank !== t.rank || !g.shape.every((d, j) => dimEq(d, t.shape[j]!))) {
        throw new GraphError(`gradient rule for ${n.op} returned ${formatShape(g.shape)} for input ${k} of shape ${formatShape(t.shape)}`);
      }
      const prev = grads.get(t.id);
      grads.set(t.id, prev ? op.add(prev, g) : g);
    });
  }
  return wrt.map((w) => grads.get(w.id) ?? op.zerosLike(w));
}
