// The head-first KV cache (read in place by the graph) against the time-major one: the same logits, step
// by step, for ragged rows whose caches grow across HEAD_STEP, and the same greedy generations.

import assert from "node:assert/strict";
import { test } from "node:test";
import { loadModel } from "../../src/models/index.ts";
import { generate } from "../../src/serving/generate.ts";
import { HEAD_STEP } from "../../src/serving/kv-cache.ts";
import { ModelRunner } from "../../src/serving/model-runner.ts";
import { samplingOptions } from "../../src/serving/sampling.ts";

const DIRS = ["test/fixtures/models/tiny-llama", "test/fixtures/models/tiny-gpt2", "test/fixtures/models/tiny-mistral-window"];

const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

for (const dir of DIRS) {
  test(`head-first cache gives the time-major logits, ragged rows growing past ${HEAD_STEP} positions (${dir})`, async () => {
    const model = await loadModel(dir);
    const time = await ModelRunner.create(model, { threads: 1 });
    const head = await ModelRunner.create(model, { threads: 1, cacheLayout: "head" });
    try {
      const V = model.config.vocabSize;
      const cap = HEAD_STEP + 8;
      const ct = time.newCache(2, cap);
      const ch = head.newCache(2, cap);
      // row 0: a long prompt; row 1: a short one, both then decoded one token a step
      let rows = [
        { ids: Array.from({ length: HEAD_STEP - 3 }, (_, i) => (7 * i + 1) % V), pastLen: 0 },
        { ids: [3, 4, 5], pastLen: 0 },
      ];
      for (let s = 0; s < 6; s++) {
        const a = await time.step(ct, rows);
        const b = await head.step(ch, rows);
        for (let r = 0; r < rows.length; r++) assert.ok(maxDiff(a[r]!, b[r]!) < 1e-4, `step ${s} row ${r}: ${maxDiff(a[r]!, b[r]!)}`);
        rows = rows.map((row, r) => ({ ids: [(s * 5 + r * 11 + 2) % V], pastLen: row.pastLen + row.ids.length }));
      }
      // row 0 went past HEAD_STEP positions: the allocation grew, capped at the capacity
      assert.equal(ch.allocated, cap);
    } finally {
      await Promise.all([time.dispose(), head.dispose()]);
    }
  });

  test(`head-first and time-major caches generate the same greedy tokens (${dir})`, async () => {
    const model = await loadModel(dir);
    const time = await ModelRunner.create(model, { threads: 1 });
    const head = await ModelRunner.create(model, { threads: 1, cacheLayout: "head" });
    try {
      const prompts = [
        [1, 7, 3],
        [2, 9, 4, 4, 8, 1, 6],
      ];
      const opts = prompts.map(() => samplingOptions({ temperature: 0, maxTokens: 12 }));
      const a = await generate(time, prompts, opts);
      const b = await generate(head, prompts, opts);
      assert.deepEqual(
        b.map((g) => g.ids),
        a.map((g) => g.ids),
      );
      assert.ok(a.some((g) => g.ids.length > 0));
    } finally {
      await Promise.all([time.dispose(), head.dispose()]);
    }
  });
}

test("a runner refuses a cache of the other layout", async () => {
  const model = await loadModel(DIRS[0]!);
  const head = await ModelRunner.create(model, { threads: 1, cacheLayout: "head" });
  const time = await ModelRunner.create(model, { threads: 1 });
  try {
    await assert.rejects(head.step(time.newCache(1, 4), [{ ids: [1], pastLen: 0 }]), /"time" cache for a "head" runner/);
  } finally {
    await Promise.all([time.dispose(), head.dispose()]);
  }
});
