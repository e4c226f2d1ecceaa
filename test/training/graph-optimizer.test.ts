// The optimizer as one ORT session (graph-optimizer.ts): three SGD / AdamW / Adafactor steps match PyTorch's
// golden trajectories on the tiny-llama (IA)³ batch, and match the JS optimizer (optim.ts) on matrices,
// stacked matrices and vectors with clipping on, updating parameters and state in place.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { loadAdapter } from "../../src/adapters/peft-io.ts";
import { Rng } from "../../src/engine/index.ts";
import { compile } from "../../src/engine/runtime/compile.ts";
import { loadTensors } from "../../src/models/io/safetensors.ts";
import { loadModel } from "../../src/models/index.ts";
import { GraphOptimizer, PIECE } from "../../src/training/graph-optimizer.ts";
import { DEFAULT_OPTIMIZER_SETTINGS, type OptimizerName, Optimizer } from "../../src/training/optim.ts";
import { buildTrainGraph } from "../../src/training/train-graph.ts";
import { batchFeeds } from "./helpers.ts";

const DIR = "test/fixtures/golden/grad/tiny-llama-ia3";
const CASES: Array<{ name: OptimizerName; dir: string; lr: number; weightDecay: number }> = [
  { name: "sgd", dir: "opt-sgd", lr: 0.1, weightDecay: 0 },
  { name: "adamw", dir: "opt-adamw", lr: 1e-2, weightDecay: 0.01 },
  { name: "adafactor", dir: "opt-adafactor", lr: 3e-3, weightDecay: 0 },
];

for (const c of CASES) {
  test(`graph ${c.name}: 3 steps match PyTorch (losses and parameters)`, async () => {
    const expected = JSON.parse(readFileSync(`${DIR}/${c.dir}/expected.json`, "utf8")) as { losses: number[]; loss_after: number };
    const m = await loadModel("test/fixtures/models/tiny-llama");
    const adapter = await loadAdapter(`${DIR}/adapter`, m.config);
    const tg = buildTrainGraph(m, { method: "tfew", adapter, withGrads: true });
    const compiled = await compile(tg.graph, { intraOpThreads: 1 });
    const params = new Map(tg.trainable.map((k) => [k, Float32Array.from(adapter.tensors.get(k)!.data)]));
    const opt = await GraphOptimizer.create({ ...DEFAULT_OPTIMIZER_SETTINGS, name: c.name, weightDecay: c.weightDecay }, tg.shapes, {
      intraOpThreads: 1,
    });
    const run = async () => {
      const feeds = batchFeeds(DIR);
      for (const [k, p] of params) feeds[k] = { dtype: "float32", shape: tg.shapes.get(k)!, data: p };
      return compiled.run(feeds);
    };
    try {
      for (let s = 0; s < 3; s++) {
        const out = await run();
        const loss = (out.loss!.data as Float32Array)[0]!;
        assert.ok(Math.abs(loss - expected.losses[s]!) < 1e-5, `step ${s} loss ${loss} vs ${expected.losses[s]}`);
        await opt.update(params, new Map(tg.trainable.map((k) => [k, out[`grad.${k}`]!.data as Float32Array])), c.lr, 0);
      }
      const after = ((await run()).loss!.data as Float32Array)[0]!;
      assert.ok(Math.abs(after - expected.loss_after) < 1e-5, `loss after 3 steps ${after} vs ${expected.loss_after}`);
      const golden = await loadTensors(`${DIR}/${c.dir}/params.safetensors`);
      let moved = 0;
      for (const k of tg.trainable) {
        const want = await golden.get(k)!.float32();
        const got = params.get(k)!;
        const start = adapter.tensors.get(k)!.data;
        want.forEach((v, i) => {
          assert.ok(Math.abs(got[i]! - v) <= 1e-5, `${k}[${i}]: ${got[i]} vs ${v}`);
          moved = Math.max(moved, Math.abs(v - start[i]!));
        });
      }
      assert.ok(moved > 1e-4, "the golden parameters moved, so the comparison means something");
    } finally {
      await Promise.all([compiled.dispose(), opt.dispose()]);
    }
  });
}

const SHAPES = new Map<string, number[]>([
  ["w", [24, 40]],
  ["stack", [3, 8, 5]],
  ["bias", [40]],
]);

function random(seed: number, scale: number): Map<string, Float32Array> {
  const rng = new Rng(seed);
  return new Map(
    [...SHAPES].map(([k, s]) => [k, Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => (rng.next() * 2 - 1) * scale)]),
  );
}

// pieces of 64 values: the elementwise rules update each tensor in flat pieces (PIECE in real runs), the last one short
for (const [name, pieces] of [
  ["sgd", PIECE],
  ["adamw", PIECE],
  ["adafactor", PIECE],
  ["sgd", 64],
  ["adamw", 64],
] as const) {
  test(`graph ${name} (pieces of ${pieces}) equals the JS optimizer over 4 clipped steps on matrices, stacks and vectors, in place`, async () => {
    const settings = { ...DEFAULT_OPTIMIZER_SETTINGS, name, weightDecay: 0.05 };
    const js = new Optimizer(settings, SHAPES);
    const gr = await GraphOptimizer.create(settings, SHAPES, { intraOpThreads: 1 }, pieces);
    const pj = random(1, 1);
    const pg = new Map([...pj].map(([k, v]) => [k, Float32Array.from(v)]));
    const arrays = [...pg.values()];
    try {
      for (let s = 0; s < 4; s++) {
        const g1 = random(10 + s, 0.5);
        const g2 = new Map([...g1].map(([k, v]) => [k, Float32Array.from(v)]));
        // the norm of these gradients is ~10: clipping to 2 is active
        const n1 = await js.update(pj, g1, 0.01, 2);
        const n2 = await gr.update(pg, g2, 0.01, 2);
        assert.ok(n1 > 2 && Math.abs(n1 - n2) < 1e-5 * n1, `norm ${n1} vs ${n2}`);
      }
      assert.deepEqual([...pg.values()], arrays, "parameters are updated in their own arrays");
      for (const [k, v] of pj) {
        const got = pg.get(k)!;
        v.forEach((x, i) => assert.ok(Math.abs(got[i]! - x) <= 2e-6 * Math.max(1, Math.abs(x)), `${name} ${k}[${i}]: ${got[i]} vs ${x}`));
      }
      assert.deepEqual([...gr.slots.keys()], [...js.slots.keys()], "the same state layout, so checkpoints resume either way");
      for (const [k, v] of js.slots) {
        const got = gr.slots.get(k)!;
        v.forEach((x, i) => assert.ok(Math.abs(got[i]! - x) <= 1e-5 * Math.max(1e-3, Math.abs(x)), `${k}[${i}]: ${got[i]} vs ${x}`));
      }
      assert.equal(gr.t, 4);
    } finally {
      await gr.dispose();
    }
  });
}
