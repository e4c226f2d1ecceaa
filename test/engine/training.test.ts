// End-to-end engine check: small models trained for several SGD steps give the same losses and
// parameters on onnxruntime (float32) as on the float64 reference interpreter.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Graph, type HostTensor, Rng, type Tensor, f32, grad, i64, nn, op } from "../../src/engine/index.ts";
import { evaluate, hostToFloat64 } from "../../src/engine/reference/index.ts";
import { compile } from "../../src/engine/runtime/compile.ts";

interface Problem {
  graph: Graph;
  params: Record<string, number[]>;
  data: Record<string, HostTensor>;
}

/** Run `steps` of SGD on both backends; returns per-step losses of each. */
async function trainBoth(p: Problem, steps: number, lr: number): Promise<{ ort: number[]; ref: number[]; drift: number }> {
  const names = Object.keys(p.params);
  const m = await compile(p.graph, { intraOpThreads: 1 });
  const ortP = Object.fromEntries(names.map((n) => [n, Float32Array.from(p.params[n]!)]));
  const refP = Object.fromEntries(names.map((n) => [n, Float64Array.from(p.params[n]!)]));
  const shape = (n: string) => [...(p.graph.inputNodes().find((x) => x.attrs.name === n)!.attrs.shape as number[])];
  const ort: number[] = [];
  const ref: number[] = [];
  try {
    for (let s = 0; s < steps; s++) {
      const o = await m.run({ ...p.data, ...Object.fromEntries(names.map((n) => [n, f32(shape(n), ortP[n])])) });
      const r = evaluate(p.graph, {
        ...p.data,
        ...Object.fromEntries(names.map((n) => [n, { dtype: "float32" as const, shape: shape(n), data: refP[n]! }])),
      });
      ort.push(hostToFloat64(o.loss!)[0]!);
      ref.push(r.loss!.data[0]!);
      for (const n of names) {
        const go = o[`grad.${n}`]!.data as Float32Array;
        const gr = r[`grad.${n}`]!.data;
        for (let i = 0; i < go.length; i++) {
          ortP[n]![i]! -= lr * go[i]!;
          refP[n]![i]! -= lr * gr[i]!;
        }
      }
    }
  } finally {
    await m.dispose();
  }
  let drift = 0;
  for (const n of names) for (let i = 0; i < refP[n]!.length; i++) drift = Math.max(drift, Math.abs(ortP[n]![i]! - refP[n]![i]!));
  return { ort, ref, drift };
}

function params(g: Graph, rng: Rng, spec: Record<string, number[]>, std: number) {
  const tensors: Record<string, Tensor> = {};
  const values: Record<string, number[]> = {};
  for (const [name, shape] of Object.entries(spec)) {
    tensors[name] = g.input(name, "float32", shape);
    values[name] = Array.from(
      rng.normalArray(
        shape.reduce((a, b) => a * b, 1),
        std,
      ),
    );
  }
  return { tensors, values };
}

function finish(g: Graph, loss: Tensor, tensors: Record<string, Tensor>): void {
  const names = Object.keys(tensors);
  g.output("loss", loss);
  grad(
    loss,
    names.map((n) => tensors[n]!),
  ).forEach((t, i) => g.output(`grad.${names[i]}`, t));
}

test("2-layer MLP: 6 SGD steps match between onnxruntime and the reference", async () => {
  const rng = new Rng(1);
  const g = new Graph();
  const x = g.input("x", "float32", ["N", 4]);
  const y = g.input("y", "int64", ["N"]);
  const { tensors: t, values } = params(g, rng, { w1: [4, 8], b1: [8], w2: [8, 3], b2: [3] }, 0.5);
  const h = op.tanh(nn.linear(x, t.w1!, t.b1!));
  finish(g, nn.crossEntropy(nn.linear(h, t.w2!, t.b2!), y), t);
  const data = {
    x: f32([10, 4], rng.normalArray(40)),
    y: i64(
      [10],
      Array.from({ length: 10 }, (_, i) => i % 3),
    ),
  };
  const { ort, ref, drift } = await trainBoth({ graph: g, params: values, data }, 6, 0.5);
  ort.forEach((l, i) => assert.ok(Math.abs(l - ref[i]!) < 1e-5, `step ${i}: ${l} vs ${ref[i]}`));
  assert.ok(ref[5]! < ref[0]! * 0.9, `loss should fall: ${ref}`);
  assert.ok(drift < 1e-5, `parameter drift ${drift}`);
});

test("causal self-attention block: 5 SGD steps match between onnxruntime and the reference", async () => {
  const rng = new Rng(2);
  const C = 8;
  const V = 11;
  const g = new Graph();
  const ids = g.input("ids", "int64", ["B", "T"]);
  const labels = g.input("labels", "int64", ["B", "T"]);
  const { tensors: t, values } = params(
    g,
    rng,
    { emb: [V, C], wq: [C, C], wk: [C, C], wv: [C, C], wo: [C, C], norm: [C], head: [C, V] },
    0.4,
  );
  values.norm = values.norm!.map((v) => 1 + v);
  const x = op.gather(t.emb!, ids, 0); // (B, T, C)
  const hN = nn.rmsNorm(x, t.norm!, 1e-5);
  const heads = (w: Tensor) => op.transpose(op.reshape(nn.linear(hN, w), ["B", "T", 2, C / 2]), [0, 2, 1, 3]); // (B, 2, T, C/2)
  const scores = op.mul(op.matmul(heads(t.wq!), op.transposeLast(heads(t.wk!))), 1 / Math.sqrt(C / 2)); // (B, 2, T, T)
  const probs = nn.softmax(op.add(scores, nn.causalMask(scores, "T")), -1);
  const ctx = op.reshape(op.transpose(op.matmul(probs, heads(t.wv!)), [0, 2, 1, 3]), ["B", "T", C]);
  const h = op.add(x, nn.linear(ctx, t.wo!));
  const logits = op.reshape(nn.linear(h, t.head!), ["B*T", V]);
  finish(g, nn.crossEntropy(logits, op.reshape(labels, ["B*T"])), t);
  const idv = Array.from({ length: 12 }, () => rng.int(V));
  const data = {
    ids: i64([2, 6], idv),
    labels: i64(
      [2, 6],
      idv.map((v, i) => (i % 6 === 0 ? -100 : (v + 1) % V)),
    ),
  };
  const { ort, ref, drift } = await trainBoth({ graph: g, params: values, data }, 5, 0.3);
  ort.forEach((l, i) => assert.ok(Math.abs(l - ref[i]!) < 1e-4, `step ${i}: ${l} vs ${ref[i]}`));
  assert.ok(ref[4]! < ref[0]!, `loss should fall: ${ref}`);
  assert.ok(drift < 1e-4, `parameter drift ${drift}`);
});
