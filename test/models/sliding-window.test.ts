// Mistral's sliding window (test/fixtures/models/tiny-mistral-window: window 4, shorter than the golden
// prompts; the goldens themselves are checked in golden.test.ts). Here: the fixture really depends on the
// window, and the training graph, which shares the attention, scores the same logits as PyTorch.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { compile } from "../../src/engine/runtime/compile.ts";
import { loadModel } from "../../src/models/index.ts";
import { ModelRunner, forwardAll } from "../../src/serving/model-runner.ts";
import { buildTrainGraph } from "../../src/training/train-graph.ts";

const NAME = "tiny-mistral-window";
const golden = JSON.parse(readFileSync(`test/fixtures/golden/${NAME}.json`, "utf8")) as { ids: number[]; logits: number[][] };
const maxDiff = (a: readonly number[], b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

test("the fixture's window is shorter than its prompt, and global attention would compute other logits past it", async () => {
  const model = await loadModel(`test/fixtures/models/${NAME}`);
  assert.equal(model.config.slidingWindow, 4);
  assert.ok(golden.ids.length > 2 * 4);
  const global = await forwardAll({ ...model, config: { ...model.config, slidingWindow: null } }, golden.ids, { threads: 1 });
  golden.logits.forEach((row, t) => {
    const d = maxDiff(row, global[t]!);
    // the first 4 positions see their whole past either way; later ones lose keys to the window
    if (t < 4) assert.ok(d < 1e-4, `position ${t}: |Δ| ${d}`);
    else assert.ok(d > 1e-2, `position ${t}: the window changes nothing (|Δ| ${d})`);
  });
});

test("the training graph applies the window: its LM loss is PyTorch's, from the golden logits", async () => {
  const model = await loadModel(`test/fixtures/models/${NAME}`);
  const ids = golden.ids;
  const T = ids.length;
  // expected: mean over t < T-1 of −log softmax(logits[t])[ids[t+1]], in float64 from PyTorch's logits
  let sum = 0;
  for (let t = 0; t < T - 1; t++) {
    const row = golden.logits[t]!;
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
    sum += lse - row[ids[t + 1]!]!;
  }
  const expected = sum / (T - 1);
  const tg = buildTrainGraph(model, { method: "vanilla", trainableWeight: () => false, withGrads: false });
  const c = await compile(tg.graph, { intraOpThreads: 1 });
  try {
    const long = (f: (i: number) => number) => BigInt64Array.from({ length: T }, (_, i) => BigInt(f(i)));
    const out = await c.run({
      input_ids: { dtype: "int64", shape: [1, T], data: long((i) => ids[i]!) },
      position_ids: { dtype: "int64", shape: [1, T], data: long((i) => i) },
      labels: { dtype: "int64", shape: [1, T], data: long((i) => ids[i]!) },
    });
    const loss = (out.loss!.data as Float32Array)[0]!;
    assert.ok(Math.abs(loss - expected) < 1e-5, `loss ${loss} vs ${expected}`);
  } finally {
    await c.dispose();
  }
});

test("a prompt fed in chunks through the KV cache (past and new keys both windowed) gives PyTorch's logits", async () => {
  const model = await loadModel(`test/fixtures/models/${NAME}`);
  const runner = await ModelRunner.create(model, { threads: 1 });
  try {
    const ids = golden.ids;
    // chunks of 3, 5 and 8 tokens: each later chunk's queries see keys in the cache and keys of their own chunk
    const cache = runner.newCache(1, ids.length);
    let past = 0;
    for (const n of [3, 5, 8]) {
      const [logits] = await runner.step(cache, [{ ids: ids.slice(past, past + n), pastLen: past }]);
      past += n;
      const d = maxDiff(golden.logits[past - 1]!, logits!);
      assert.ok(d < 1e-4, `after ${past} tokens: |Δ| ${d}`);
    }
  } finally {
    await runner.dispose();
  }
});
