// LoRA adapters of ranks 1 to 64 on any projection, served together from the engine's rank buckets in one
// continuous batch, equal each adapter merged into the weights (mergeLora → a plain runner), token for
// token and log-probability for log-probability; the PEFT-made golden LoRA is among them.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { Adapter } from "../../src/adapters/adapter.ts";
import { mergeLora } from "../../src/adapters/lora.ts";
import { loadAdapter } from "../../src/adapters/peft-io.ts";
import { type LoadedModel, linearModules, loadModel } from "../../src/models/index.ts";
import { generate } from "../../src/serving/generate.ts";
import { ModelRunner } from "../../src/serving/model-runner.ts";
import { samplingOptions } from "../../src/serving/sampling.ts";
import { FIXTURES, GOLDEN_ADAPTERS, prompts, randomLora, createEngine } from "./hosting-helpers.ts";

for (const family of ["tiny-llama", "tiny-gpt2"]) {
  test(`${family}: LoRA of ranks 1-64 on every projection, mixed in one batch, = merged weights`, async () => {
    const model = await loadModel(`${FIXTURES}/${family}`);
    const cfg = model.config;
    const every = [...new Set(linearModules(cfg).map((m) => m.module))];
    const adapters: Record<string, Adapter> = {
      "r64-qv": randomLora(cfg, 1, 64),
      "r32-all": randomLora(cfg, 2, 32, every),
      "r8-mlp": randomLora(
        cfg,
        3,
        8,
        every.filter((m) => m.includes("mlp")),
      ),
      "r1-all": randomLora(cfg, 4, 1, every),
      "r12-all": randomLora(cfg, 5, 12, every),
      peft: await loadAdapter(`${GOLDEN_ADAPTERS}/${family}-lora/adapter`, cfg),
    };
    const engine = await createEngine({ model, maxBatchSize: 8, threads: 1, lora: { targetModules: every } });
    const greedy = samplingOptions({ temperature: 0, maxTokens: 8 });
    const ps = prompts(cfg, 3, 9);
    try {
      for (const [name, a] of Object.entries(adapters)) await engine.activate(name, a);
      // all requests at once: 18 requests over 8 rows, every rank bucket in the same steps
      const jobs = Object.keys(adapters).flatMap((name) => ps.map((p) => engine.submit({ adapter: name, promptIds: p, sampling: greedy })));
      const got = await Promise.all(jobs);
      let k = 0;
      for (const [name, a] of Object.entries(adapters)) {
        const merged: LoadedModel = { ...model, weights: new Map(mergeLora(cfg, model.weights, a)) };
        const runner = await ModelRunner.create(merged, { threads: 1 });
        try {
          const want = await generate(
            runner,
            ps,
            ps.map(() => greedy),
          );
          ps.forEach((_, i) => {
            const g = got[k++]!;
            assert.deepEqual(g.ids, want[i]!.ids, `${name}: prompt ${i}`);
            want[i]!.logprobs.forEach((lp, j) => assert.ok(Math.abs(lp - g.logprobs[j]!) < 1e-4, `${name}: prompt ${i} logprob ${j}`));
          });
        } finally {
          await runner.dispose();
        }
      }
      const plain = await ModelRunner.create(model, { threads: 1 });
      const base = await generate(
        plain,
        ps,
        ps.map(() => greedy),
      );
      await plain.dispose();
      assert.ok(
        got.some((g, i) => g.ids.join() !== base[i % ps.length]!.ids.join()),
        "the adapters change outputs (the test would catch a LoRA path that adds nothing)",
      );
      const s = engine.stats();
      assert.equal(s.tables.lora.used, Object.keys(adapters).length);
      const bytes = new Map(s.models.map((m) => [m.name, m.bytes]));
      assert.ok(bytes.get("r64-qv")! > bytes.get("r1-all")!, "an adapter costs its rank bucket's bytes, not the largest rank's");
    } finally {
      await engine.close();
    }
  });
}

test("a rank above the largest bucket is refused; deactivating frees the row and its step buffers' hold", async () => {
  const model = await loadModel(`${FIXTURES}/tiny-llama`);
  const engine = await createEngine({ model, threads: 1, lora: { rank: 32 } });
  try {
    await assert.rejects(engine.activate("big", randomLora(model.config, 1, 64)), /rank 64 exceeds this engine's LoRA rank 32/);
    await engine.activate("a", randomLora(model.config, 2, 32));
    const p = [1, 5, 6, 7];
    const before = await engine.submit({ adapter: "a", promptIds: p, sampling: { temperature: 0, maxTokens: 5 } });
    await engine.deactivate("a");
    assert.equal(engine.stats().tables.lora.used, 0);
    // a new adapter in the same row and the same staging position gets its own weights
    await engine.activate("b", randomLora(model.config, 3, 32));
    await engine.activate("a", randomLora(model.config, 2, 32));
    const again = await engine.submit({ adapter: "a", promptIds: p, sampling: { temperature: 0, maxTokens: 5 } });
    assert.deepEqual(again.ids, before.ids);
  } finally {
    await engine.close();
  }
});
