// The runner's step outputs beyond logits: the graph's per-row logsumexp and the log-probabilities that
// generate() reports with it, checked against a full forward pass and JS arithmetic.

import assert from "node:assert/strict";
import { test } from "node:test";
import { loadModel } from "../../src/models/index.ts";
import { generate } from "../../src/serving/generate.ts";
import { ModelRunner, forwardAll } from "../../src/serving/model-runner.ts";
import { logSoftmaxAt, samplingOptions } from "../../src/serving/sampling.ts";

const DIR = "test/fixtures/models/tiny-llama";

test("advance() returns each row's logsumexp with its logits and fills the cache like step()", async () => {
  const model = await loadModel(DIR);
  const runner = await ModelRunner.create(model, { threads: 1 });
  try {
    const V = model.config.vocabSize;
    const rows = [
      { ids: [1, 5, 9, 2], pastLen: 0 },
      { ids: [3, 4], pastLen: 0 },
    ];
    const a = runner.newCache(2, 8);
    const b = runner.newCache(2, 8);
    const out = await runner.advance(a, rows);
    const copies = await runner.step(b, rows);
    for (let r = 0; r < rows.length; r++) {
      const row = out.logits.subarray(r * V, (r + 1) * V);
      assert.deepEqual(row, copies[r]);
      let m = -Infinity;
      for (const v of row) m = Math.max(m, v);
      const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
      assert.ok(Math.abs(out.logsumexp[r]! - lse) < 1e-5, `row ${r}: ${out.logsumexp[r]} vs ${lse}`);
    }
    for (let l = 0; l < model.config.numLayers; l++) assert.deepEqual(a.keys[l], b.keys[l]);
  } finally {
    await runner.dispose();
  }
});

test("generate() log-probabilities equal log-softmax of a full forward pass", async () => {
  const model = await loadModel(DIR);
  const runner = await ModelRunner.create(model, { threads: 1 });
  try {
    const prompt = [1, 7, 3];
    const [gen] = await generate(runner, [prompt], [samplingOptions({ temperature: 0, maxTokens: 5 })]);
    const logits = await forwardAll(model, [...prompt, ...gen!.ids], { threads: 1 });
    gen!.ids.forEach((id, t) => {
      const want = logSoftmaxAt(logits[prompt.length - 1 + t]!, id);
      assert.ok(Math.abs(gen!.logprobs[t]! - want) < 1e-4, `token ${t}: ${gen!.logprobs[t]} vs ${want}`);
    });
  } finally {
    await runner.dispose();
  }
});
