// The one helper that checks an op's forward and every input's gradient: autodiff gradients are compared
// with central finite differences in float64 (reference interpreter), and onnxruntime's forward and
// gradients with the reference, under several symbol bindings.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Graph, type HostTensor, type Tensor, dimSymbols, grad, isBareSymbol, isFloat, op } from "../../../src/engine/index.ts";
import { type NDArray, evaluate, hostToFloat64 } from "../../../src/engine/reference/index.ts";
import { compile } from "../../../src/engine/runtime/compile.ts";
import { type Gen, feedsFor, rngOf } from "../onnx/check.ts";

export interface GradCase {
  /** declared inputs → the tensor to check (float) */
  build: (g: Graph) => Tensor;
  /** value generators per input name */
  data?: Record<string, Gen>;
  bindings?: Array<Record<string, number>>;
  /** input names to differentiate (default: every float input) */
  wrt?: string[];
  /** skip finite differences (ops whose float32/float16 rounding makes them meaningless) */
  noFiniteDiff?: boolean;
  /** onnxruntime (float32) vs reference tolerance */
  tol?: number;
}

const FD_SAMPLES = 10;
const FD_STEP = 1e-6;

/** Register one test: `gradTest("Mul broadcast", { build: … })`. */
export function gradTest(name: string, c: GradCase): void {
  test(name, () => checkGrad(name, c));
}

export async function checkGrad(name: string, c: GradCase): Promise<void> {
  const g = new Graph();
  const y = c.build(g);
  assert.ok(isFloat(y.dtype), `${name}: output must be floating point`);
  // loss = Σ y·w with a random w of y's shape (every element's gradient differs), or ½Σy² when y's
  // shape has expression dims that no input can declare
  const weighted = y.shape.every((d) => typeof d === "number" || isBareSymbol(d));
  const loss = weighted ? op.sum(op.mul(y, g.input("loss_weight", y.dtype, y.shape))) : op.mul(op.sum(op.mul(y, y)), 0.5);
  const inputs = g.inputNodes().filter((n) => n.attrs.name !== "loss_weight" && isFloat(n.attrs.dtype));
  const wrt = c.wrt ? inputs.filter((n) => c.wrt!.includes(n.attrs.name)) : inputs;
  assert.ok(wrt.length > 0, `${name}: nothing to differentiate`);
  const grads = grad(
    loss,
    wrt.map((n) => n.outputs[0]!),
  );
  g.output("y", y);
  g.output("loss", loss);
  grads.forEach((t, i) => g.output(`grad.${wrt[i]!.attrs.name}`, t));

  const compiled = await compile(g, { intraOpThreads: 1 });
  const rng = rngOf(7);
  try {
    for (const bind of c.bindings ?? defaultBindings(y)) {
      const feeds = feedsFor(g, bind, c.data ?? {}, rng);
      const ref = evaluate(g, feeds) as Record<string, NDArray>;
      const tag = `${name} ${JSON.stringify(bind)}`;
      if (!c.noFiniteDiff) {
        for (const n of wrt) finiteDiff(g, loss, feeds, n.attrs.name, ref[`grad.${n.attrs.name}`]!, tag);
      }
      const got = await compiled.run(feeds);
      for (const [out, want] of Object.entries(ref)) {
        const o = got[out]!;
        assert.deepEqual(o.shape, [...want.shape], `${tag} '${out}': onnxruntime shape`);
        close(hostToFloat64(o), want.data, c.tol ?? 2e-4, `${tag} '${out}' onnxruntime vs reference`);
      }
    }
  } finally {
    await compiled.dispose();
  }
}

function defaultBindings(y: Tensor): Array<Record<string, number>> {
  const syms = new Set(y.graph.inputNodes().flatMap((n) => n.attrs.shape.flatMap((d) => dimSymbols(d))));
  if (syms.size === 0) return [{}];
  const pick = (vals: Record<string, number>) => Object.fromEntries([...syms].map((s) => [s, vals[s] ?? 2]));
  return [pick({ B: 2, T: 3, P: 0 }), pick({ B: 1, T: 2, P: 3 })];
}

/** central differences of the loss in float64 at a few sampled elements of one input */
function finiteDiff(g: Graph, loss: Tensor, feeds: Record<string, HostTensor>, input: string, analytic: NDArray, tag: string): void {
  const base: Record<string, NDArray> = {};
  for (const [k, v] of Object.entries(feeds)) base[k] = { dtype: v.dtype, shape: v.shape, data: hostToFloat64(v) };
  const x = base[input]!;
  const n = x.data.length;
  const picks = n <= FD_SAMPLES ? [...Array(n).keys()] : [...Array(FD_SAMPLES).keys()].map((i) => Math.floor(((i + 0.5) * n) / FD_SAMPLES));
  for (const i of picks) {
    const at = (delta: number) => {
      const data = Float64Array.from(x.data);
      data[i] = data[i]! + delta;
      const [l] = evaluate(g, { ...base, [input]: { ...x, data } }, [loss]);
      return l!.data[0]!;
    };
    const h = FD_STEP * Math.max(1, Math.abs(x.data[i]!));
    const fd = (at(h) - at(-h)) / (2 * h);
    const an = analytic.data[i]!;
    assert.ok(Math.abs(fd - an) <= 1e-5 + 1e-4 * Math.abs(fd), `${tag} d loss/d ${input}[${i}]: autodiff ${an}, finite difference ${fd}`);
  }
}

function close(got: Float64Array, want: Float64Array, tol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    const ok = Math.abs(got[i]! - want[i]!) <= tol * (1 + Math.abs(want[i]!)) || (Number.isNaN(got[i]!) && Number.isNaN(want[i]!));
    assert.ok(ok, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
  }
}
