// A T-Few adapter served from the engine's tables equals the same adapter merged into the weights
// (mergeIa3 → a plain runner), and equals that merged model hosted beside the base as a full custom
// model, whose memory cost shows in the stats.

import assert from "node:assert/strict";
import { test } from "node:test";
import { mergeIa3 } from "../../src/adapters/ia3.ts";
import { loadAdapter } from "../../src/adapters/peft-io.ts";
import { type LoadedModel, loadModel, weightBytes } from "../../src/models/index.ts";
import { generate } from "../../src/serving/generate.ts";
import { ModelRunner } from "../../src/serving/model-runner.ts";
import { samplingOptions } from "../../src/serving/sampling.ts";
import { FIXTURES, GOLDEN_ADAPTERS, prompts, randomIa3, createEngine } from "./hosting-helpers.ts";

for (const family of ["tiny-llama", "tiny-gpt2"]) {
  test(`${family}: IA3 from the tables = merged weights = merged model hosted as a full model`, async () => {
    const model = await loadModel(`${FIXTURES}/${family}`);
    const cfg = model.config;
    const adapters = { golden: await loadAdapter(`${GOLDEN_ADAPTERS}/${family}-ia3/adapter`, cfg), random: randomIa3(cfg, 5) };
    const engine = await createEngine({ model, maxBatchSize: 8, threads: 1 });
    try {
      const ps = prompts(cfg, 4, 3);
      for (const [name, adapter] of Object.entries(adapters)) {
        const merged: LoadedModel = { ...model, weights: new Map(mergeIa3(cfg, model.weights, adapter)) };
        await engine.activate(name, adapter);
        const full = await engine.activate(`${name}-merged`, merged);
        assert.equal(full.kind, "full");
        assert.equal(full.bytes, weightBytes(model), "a full model costs a whole model's weights");
        const runner = await ModelRunner.create(merged, { threads: 1 });
        try {
          const greedy = samplingOptions({ temperature: 0, maxTokens: 10 });
          const want = await generate(
            runner,
            ps,
            ps.map(() => greedy),
          );
          const fromTables = await Promise.all(ps.map((p) => engine.submit({ adapter: name, promptIds: p, sampling: greedy })));
          const fromFull = await Promise.all(ps.map((p) => engine.submit({ adapter: `${name}-merged`, promptIds: p, sampling: greedy })));
          ps.forEach((_, i) => {
            assert.deepEqual(fromTables[i]!.ids, want[i]!.ids, `${name}: prompt ${i} from the tables`);
            assert.deepEqual(fromFull[i]!.ids, want[i]!.ids, `${name}: prompt ${i} from the full model`);
            want[i]!.logprobs.forEach((lp, k) =>
              assert.ok(Math.abs(lp - fromTables[i]!.logprobs[k]!) < 1e-4, `${name}: prompt ${i} logprob ${k}`),
            );
          });
        } finally {
          await runner.dispose();
        }
      }
      const s = engine.stats();
      const byName = new Map(s.models.map((m) => [m.name, m]));
      assert.equal(byName.get("golden")!.kind, "ia3");
      assert.equal(byName.get("golden")!.bytes, s.tables.ia3.rowBytes);
      assert.ok(s.tables.ia3.rowBytes < s.base.bytes / 50, "an adapter row is a small fraction of the base");
      assert.equal(byName.get("random-merged")!.bytes, s.base.bytes);
      assert.equal(s.batch.sessions, 3, "the base session plus one per full model");
    } finally {
      await engine.close();
    }
  });
}
