// The optimizer as one ORT session (graph-optimizer.ts): three SGD / AdamW / Adafactor steps match PyTorch's
// golden trajectories on the tiny-llama (IA)³ batch, and match the JS optimizer (optim.ts) on matrices,
// stacked matrices and vectors with clipping on, updating parameters and state in place.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Rng } from "../../src/engine/index.ts";
import { GraphOptimizer, PIECE } from "../../src/training/graph-optimizer.ts";
import { DEFAULT_OPTIMIZER_SETTINGS, Optimizer } from "../../src/training/optim.ts";
import { CASES, matchesGoldenSteps } from "./golden-optimizer.ts";

for (const c of CASES) {
  test(`graph ${c.name}: 3 steps match PyTorch (losses and parameters)`, () =>
    matchesGoldenSteps(c, async (shapes) => {
      const opt = await GraphOptimizer.create({ ...DEFAULT_OPTIMIZER_SETTINGS, name: c.name, weightDecay: c.weightDecay }, shapes, {
        intraOpThreads: 1,
      });
      return { step: (params, grads, lr) => opt.update(params, grads, lr, 0), dispose: () => opt.dispose() };
    }));
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
