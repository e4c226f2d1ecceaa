// The PyTorch optimizer trajectories both optimizers are checked against (optim.ts in JS, graph-optimizer.ts
// as an ORT session): three SGD / AdamW / Adafactor steps on the tiny-llama (IA)³ adapter over the golden
// batch (test/fixtures/golden/grad/tiny-llama-ia3/opt-*) — losses per step, the loss after, the parameters.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { loadAdapter } from "../../src/adapters/peft-io.ts";
import { compile } from "../../src/engine/runtime/compile.ts";
import { loadTensors } from "../../src/models/io/safetensors.ts";
import { loadModel } from "../../src/models/index.ts";
import type { OptimizerName } from "../../src/training/optim.ts";
import { buildTrainGraph } from "../../src/training/train-graph.ts";
import { batchFeeds } from "./helpers.ts";

export const DIR = "test/fixtures/golden/grad/tiny-llama-ia3";

export interface OptimizerCase {
  name: OptimizerName;
  dir: string;
  lr: number;
  weightDecay: number;
}

export const CASES: OptimizerCase[] = [
  { name: "sgd", dir: "opt-sgd", lr: 0.1, weightDecay: 0 },
  { name: "adamw", dir: "opt-adamw", lr: 1e-2, weightDecay: 0.01 },
  { name: "adafactor", dir: "opt-adafactor", lr: 3e-3, weightDecay: 0 },
];

/** One optimizer under test: a step over the parameters in place, and what to release afterwards. */
export interface StepperUnderTest {
  step(params: Map<string, Float32Array>, grads: Map<string, Float32Array>, lr: number): unknown;
  dispose?(): Promise<void>;
}

/** Three steps of `make`'s optimizer match PyTorch's losses and parameters for case `c`. */
export async function matchesGoldenSteps(
  c: OptimizerCase,
  make: (shapes: Map<string, number[]>) => Promise<StepperUnderTest>,
): Promise<void> {
  const expected = JSON.parse(readFileSync(`${DIR}/${c.dir}/expected.json`, "utf8")) as { losses: number[]; loss_after: number };
  const m = await loadModel("test/fixtures/models/tiny-llama");
  const adapter = await loadAdapter(`${DIR}/adapter`, m.config);
  const tg = buildTrainGraph(m, { method: "tfew", adapter, withGrads: true });
  const compiled = await compile(tg.graph, { intraOpThreads: 1 });
  const params = new Map(tg.trainable.map((k) => [k, Float32Array.from(adapter.tensors.get(k)!.data)]));
  const opt = await make(tg.shapes);
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
      await opt.step(params, new Map(tg.trainable.map((k) => [k, out[`grad.${k}`]!.data as Float32Array])), c.lr);
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
    await Promise.all([compiled.dispose(), opt.dispose?.()]);
  }
}
