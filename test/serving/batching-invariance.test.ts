// Batching invariance of the hosting engine, per model family: every request of a mixed continuous batch
// (base, PEFT-made and random T-Few and LoRA adapters — the latter of a lower rank than the tables, so
// zero-padded —, different prompt lengths, arriving at different steps, greedy and sampled) gets exactly
// the tokens it gets when generated alone by a plain runner applying only its adapter.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Adapter } from "../../src/adapters/adapter.ts";
import { loadAdapter } from "../../src/adapters/peft-io.ts";
import { loadModel } from "../../src/models/index.ts";
import type { HostedGeneration } from "../../src/serving/hosting/hosted-request.ts";
import type { SamplingInput } from "../../src/serving/sampling.ts";
import { FIXTURES, GOLDEN_ADAPTERS, Reference, prompts, randomIa3, randomLora, createEngine } from "./hosting-helpers.ts";

for (const family of ["tiny-llama", "tiny-qwen2", "tiny-gpt2"]) {
  describe(`${family}: mixed continuous batch`, () => {
    test("every request equals the same request served alone", async () => {
      const model = await loadModel(`${FIXTURES}/${family}`);
      const cfg = model.config;
      const adapters: Record<string, Adapter> = {
        "peft-ia3": await loadAdapter(`${GOLDEN_ADAPTERS}/${family}-ia3/adapter`, cfg),
        "peft-lora": await loadAdapter(`${GOLDEN_ADAPTERS}/${family}-lora/adapter`, cfg),
        "rand-ia3": randomIa3(cfg, 11),
        "rand-lora": randomLora(cfg, 12, 2),
      };
      // 4 rows for 12 requests: requests queue, join as others leave, and the width of the batch changes
      const engine = await createEngine({ model, maxBatchSize: 4, threads: 1, lora: { rank: 4 } });
      const ref = new Reference(model);
      try {
        for (const [name, a] of Object.entries(adapters))
          await engine.activate(name, name.startsWith("peft") ? `${GOLDEN_ADAPTERS}/${family}-${name.slice(5)}/adapter` : a);
        const names = [null, ...Object.keys(adapters)];
        const ps = prompts(cfg, 12, 7);
        const plan = ps.map((p, i) => ({
          adapter: names[i % names.length]!,
          prompt: p,
          sampling: (i % 3 === 2
            ? { temperature: 0.8, topK: 20, topP: 0.9, seed: i, maxTokens: 6 + (i % 5), repetitionPenalty: 1.2, frequencyPenalty: 0.3 }
            : { temperature: 0, maxTokens: 4 + ((i * 3) % 11) }) as SamplingInput,
          wave: i < 5 ? 0 : i < 9 ? 1 : 2,
        }));
        const results: Array<Promise<HostedGeneration>> = [];
        const submitWave = (w: number) =>
          plan.forEach((q, i) => {
            if (q.wave !== w) return;
            results[i] = engine.submit({
              adapter: q.adapter,
              promptIds: q.prompt,
              sampling: q.sampling,
              // the first request's tokens trigger the later waves, which so join a running batch
              onToken: i === 0 ? (t) => (t.index === 1 ? submitWave(1) : t.index === 3 ? submitWave(2) : undefined) : undefined,
            });
          });
        submitWave(0);
        await results[0];
        assert.equal(results.filter(Boolean).length, plan.length, "all waves were submitted");
        const got = await Promise.all(results);
        for (const [i, q] of plan.entries()) {
          const want = await ref.alone(q.adapter === null ? null : adapters[q.adapter]!, q.prompt, q.sampling);
          assert.deepEqual(got[i]!.ids, want.ids, `request ${i} (${q.adapter ?? "base"}, prompt ${q.prompt.length} tokens)`);
          assert.equal(got[i]!.finishReason, want.finishReason, `request ${i} finish reason`);
          assert.equal(got[i]!.text, want.text, `request ${i} text`);
          got[i]!.logprobs.forEach((lp, k) => assert.ok(Math.abs(lp - want.logprobs[k]!) < 1e-4, `request ${i} logprob ${k}`));
        }
        // the random adapters really change the model, so equality above is not the base's output twice
        for (const name of ["rand-ia3", "rand-lora"]) {
          const p = ps[0]!;
          const base = await ref.alone(null, p, { temperature: 0, maxTokens: 8 });
          const adapted = await ref.alone(adapters[name]!, p, { temperature: 0, maxTokens: 8 });
          const moved = adapted.ids.join() !== base.ids.join() || Math.abs(adapted.logprobs[0]! - base.logprobs[0]!) > 1e-3;
          assert.ok(moved, `${name} changes the model's output`);
        }
        const s = engine.stats();
        assert.equal(s.totals.completed, plan.length);
        assert.equal(s.batch.running + s.batch.pending + s.queue.length, 0);
        assert.equal(s.kvCache.allocatedBytes, 0, "an idle engine holds no KV cache");
      } finally {
        await engine.close();
        await ref.dispose();
      }
    });
  });
}
