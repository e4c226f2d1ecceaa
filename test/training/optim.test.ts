// Optimizers against PyTorch: three SGD / AdamW / Adafactor steps on the tiny-llama (IA)³ adapter over the
// golden batch (test/fixtures/golden/grad/tiny-llama-ia3/opt-*), plus clipping and the schedule.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { loadAdapter } from "../../src/adapters/peft-io.ts";
import { compile } from "../../src/engine/runtime/compile.ts";
import { loadTensors } from "../../src/models/io/safetensors.ts";
import { loadModel } from "../../src/models/index.ts";
import { DEFAULT_OPTIMIZER_SETTINGS, type OptimizerName, Optimizer, clipGradNorm, learningRateAt } from "../../src/training/optim.ts";
import { buildTrainGraph } from "../../src/training/train-graph.ts";
import { batchFeeds } from "./helpers.ts";

const DIR = "test/fixtures/golden/grad/tiny-llama-ia3";

const CASES: Array<{ name: OptimizerName; dir: string; lr: number; weightDecay: number }> = [
  { name: "sgd", dir: "opt-sgd", lr: 0.1, weightDecay: 0 },
  { name: "adamw", dir: "opt-adamw", lr: 1e-2, weightDecay: 0.01 },
  { name: "adafactor", dir: "opt-adafactor", lr: 3e-3, weightDecay: 0 },
];

for (const c of CASES) {
  test(`${c.name}: 3 steps match PyTorch (losses and parameters)`, async () => {
    const expected = JSON.parse(readFileSync(`${DIR}/${c.dir}/expected.json`, "utf8")) as { losses: number[]; loss_after: number };
    const m = await loadModel("test/fixtures/models/tiny-llama");
    const adapter = await loadAdapter(`${DIR}/adapter`, m.config);
    const tg = buildTrainGraph(m, { method: "tfew", adapter, withGrads: true });
    const compiled = await compile(tg.graph, { intraOpThreads: 1 });
    const params = new Map(tg.trainable.map((k) => [k, Float32Array.from(adapter.tensors.get(k)!.data)]));
    const opt = new Optimizer({ ...DEFAULT_OPTIMIZER_SETTINGS, name: c.name, weightDecay: c.weightDecay }, tg.shapes);
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
        opt.step(params, new Map(tg.trainable.map((k) => [k, out[`grad.${k}`]!.data as Float32Array])), c.lr);
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
      await compiled.dispose();
    }
  });
}

test("Adafactor factors 2-D tensors and keeps a full second moment for vectors", () => {
  const opt = new Optimizer(
    { ...DEFAULT_OPTIMIZER_SETTINGS, name: "adafactor" },
    new Map([
      ["w", [3, 4]],
      ["b", [4]],
    ]),
  );
  assert.deepEqual([...opt.slots.keys()].sort(), ["exp_avg_sq.b", "exp_avg_sq_col.w", "exp_avg_sq_row.w"]);
  assert.equal(opt.slots.get("exp_avg_sq_row.w")!.length, 3);
  assert.equal(opt.slots.get("exp_avg_sq_col.w")!.length, 4);
  // the first step of a rank-1 |g|² is g/|g| elementwise before RMS clipping: every update has size lr
  const p = new Map([
    ["w", new Float32Array(12)],
    ["b", new Float32Array(4)],
  ]);
  const g = new Map([
    ["w", Float32Array.from({ length: 12 }, (_, i) => (i % 2 ? 1 : -1) * 0.5)],
    ["b", Float32Array.of(2, -2, 2, -2)],
  ]);
  opt.step(p, g, 0.1);
  for (const [k, v] of p)
    v.forEach((x, i) => assert.ok(Math.abs(Math.abs(x) - 0.1) < 1e-6 && Math.sign(x) === -Math.sign(g.get(k)![i]!), `${k}[${i}] = ${x}`));
});

test("clipGradNorm scales to the max norm and reports the norm before", () => {
  const a = Float32Array.of(3, 0);
  const b = Float32Array.of(0, 4);
  assert.equal(clipGradNorm([a, b], 1), 5);
  assert.ok(Math.abs(Math.hypot(...a, ...b) - 1) < 1e-5);
  const c = Float32Array.of(0.3, 0.4);
  assert.ok(Math.abs(clipGradNorm([c], 0) - 0.5) < 1e-7);
  assert.deepEqual([...c], [Math.fround(0.3), Math.fround(0.4)], "0 means no clipping");
});

test("schedule: linear warmup to lr, then linear decay; no warmup starts at lr", () => {
  const lrs = Array.from({ length: 6 }, (_, s) => learningRateAt(s, 6, 2, 1));
  assert.deepEqual(lrs, [0.5, 1, 1, 0.75, 0.5, 0.25]);
  assert.equal(learningRateAt(0, 1, 0, 0.3), 0.3);
});
