// Optimizers against PyTorch: three SGD / AdamW / Adafactor steps on the tiny-llama (IA)³ adapter over the
// golden batch (test/fixtures/golden/grad/tiny-llama-ia3/opt-*), plus clipping and the schedule.

import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_OPTIMIZER_SETTINGS, Optimizer, clipGradNorm, learningRateAt } from "../../src/training/optim.ts";
import { CASES, matchesGoldenSteps } from "./golden-optimizer.ts";

for (const c of CASES) {
  test(`${c.name}: 3 steps match PyTorch (losses and parameters)`, () =>
    matchesGoldenSteps(c, async (shapes) => {
      const opt = new Optimizer({ ...DEFAULT_OPTIMIZER_SETTINGS, name: c.name, weightDecay: c.weightDecay }, shapes);
      return { step: (params, grads, lr) => opt.step(params, grads, lr) };
    }));
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
