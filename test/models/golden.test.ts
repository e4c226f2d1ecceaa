// Every model family against PyTorch (test/fixtures/golden, made by tools/golden/make_golden.py):
// logits at every position within 1e-4, exact greedy continuations, and batched rows of different
// lengths equal to each row generated alone.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { loadModel } from "../../src/models/index.ts";
import { generate } from "../../src/serving/generate.ts";
import { ModelRunner, forwardAll } from "../../src/serving/model-runner.ts";
import { samplingOptions } from "../../src/serving/sampling.ts";

interface Golden {
  ids: number[];
  logits: number[][];
  greedy: { prompt_ids: number[]; new_ids: number[] };
  batch: Array<{ prompt_ids: number[]; new_ids: number[] }>;
}

const MODELS = ["tiny-llama", "tiny-llama3", "tiny-qwen2", "tiny-mistral", "tiny-mistral-window", "tiny-llama-bias", "tiny-gpt2", "tiny-llama-bf16", "tiny-llama-f16-sharded"];
const greedy = (n: number) => samplingOptions({ temperature: 0, maxTokens: n });

for (const name of MODELS) {
  describe(name, () => {
    const golden = JSON.parse(readFileSync(`test/fixtures/golden/${name}.json`, "utf8")) as Golden;
    const loaded = loadModel(`test/fixtures/models/${name}`);

    test("logits at every position match PyTorch within 1e-4", async () => {
      const model = await loaded;
      const logits = await forwardAll(model, golden.ids, { threads: 1 });
      let worst = 0;
      golden.logits.forEach((row, t) => row.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - logits[t]![i]!)))));
      assert.ok(worst < 1e-4, `max |Δ logit| = ${worst}`);
    });

    test("greedy continuation and batched rows of different lengths match", async () => {
      const model = await loaded;
      const runner = await ModelRunner.create(model, { threads: 1 });
      try {
        const alone = await generate(runner, [golden.greedy.prompt_ids], [greedy(golden.greedy.new_ids.length)]);
        assert.deepEqual(alone[0]!.ids, golden.greedy.new_ids);
        const rows = golden.batch;
        const together = await generate(runner, rows.map((r) => r.prompt_ids), rows.map((r) => greedy(r.new_ids.length)));
        rows.forEach((r, i) => assert.deepEqual(together[i]!.ids, r.new_ids, `row ${i}`));
      } finally {
        await runner.dispose();
      }
    });
  });
}
