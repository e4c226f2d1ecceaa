// Adapters as a server applies them (unmerged, through graph hooks): a fresh adapter is the base model
// exactly, (IA)³ unmerged equals merged (PEFT's merged golden), and adapters saved by Python's PEFT load
// and reproduce PEFT's logits.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { createIa3, mergeIa3 } from "../../src/adapters/ia3.ts";
import { createLora, loraConfig } from "../../src/adapters/lora.ts";
import { loadAdapter } from "../../src/adapters/peft-io.ts";
import { hooksFor } from "../../src/cli/adapter-flag.ts";
import { loadTensors } from "../../src/models/io/safetensors.ts";
import { loadModel } from "../../src/models/index.ts";
import { forwardAll } from "../../src/serving/model-runner.ts";

const G = "test/fixtures/golden/grad";
const IDS = [1, 17, 42, 99, 3, 250, 7, 64];
const flat = (rows: Float32Array[]) => rows.flatMap((r) => Array.from(r));

test("a fresh (IA)³ or LoRA adapter reproduces the base logits exactly", async () => {
  const m = await loadModel("test/fixtures/models/tiny-llama");
  const base = flat(await forwardAll(m, IDS, { threads: 1 }));
  const ia3 = flat(await forwardAll(m, IDS, { threads: 1, hooks: hooksFor(m, createIa3(m.config)) }));
  const lora = flat(
    await forwardAll(m, IDS, {
      threads: 1,
      hooks: hooksFor(m, createLora(m.config, loraConfig(m.config, { r: 4, alpha: 8, dropout: 0 }), 1)),
    }),
  );
  assert.deepEqual(ia3, base);
  assert.deepEqual(lora, base);
});

test("(IA)³ served unmerged equals the same adapter merged into the weights (PEFT's merge_and_unload)", async () => {
  const m = await loadModel("test/fixtures/models/tiny-llama");
  const adapter = await loadAdapter(`${G}/tiny-llama-ia3/adapter`, m.config);
  const merged = await loadModel(`${G}/tiny-llama-ia3/merged`);
  const ours = mergeIa3(m.config, m.weights, adapter);
  for (const [k, w] of merged.weights) {
    const got = ours.get(k)!.data;
    w.data.forEach((v, i) => assert.ok(Math.abs(got[i]! - v) <= 1e-6 * Math.max(1, Math.abs(v)), `${k}[${i}]: ${got[i]} vs ${v}`));
  }
  const unmerged = flat(await forwardAll(m, IDS, { threads: 1, hooks: hooksFor(m, adapter) }));
  const viaMerge = flat(await forwardAll(merged, IDS, { threads: 1 }));
  const base = flat(await forwardAll(m, IDS, { threads: 1 }));
  unmerged.forEach((v, i) => assert.ok(Math.abs(v - viaMerge[i]!) < 1e-5, `logit ${i}: ${v} vs ${viaMerge[i]}`));
  assert.ok(
    unmerged.some((v, i) => Math.abs(v - base[i]!) > 1e-2),
    "the adapter changes the model",
  );
});

for (const model of ["tiny-llama", "tiny-qwen2", "tiny-gpt2"]) {
  for (const kind of ["ia3", "lora"]) {
    test(`${model}: the ${kind} adapter saved by Python's PEFT loads and reproduces PEFT's logits`, async () => {
      const dir = `${G}/${model}-${kind}`;
      const m = await loadModel(`test/fixtures/models/${model}`);
      const adapter = await loadAdapter(`${dir}/adapter`, m.config);
      const batch = JSON.parse(readFileSync(`${dir}/batch.json`, "utf8")) as { input_ids: number[][]; attention_mask: number[][] };
      const golden = await (await loadTensors(`${dir}/logits.safetensors`)).get("logits")!.float32();
      const [B, T, V] = [batch.input_ids.length, batch.input_ids[0]!.length, m.config.vocabSize];
      for (let b = 0; b < B; b++) {
        const len = batch.attention_mask[b]!.reduce((a, v) => a + v, 0);
        const rows = await forwardAll(m, batch.input_ids[b]!.slice(0, len), { threads: 1, hooks: hooksFor(m, adapter) });
        rows.forEach((r, t) =>
          r.forEach((v, i) =>
            assert.ok(
              Math.abs(v - golden[(b * T + t) * V + i]!) < 1e-4,
              `row ${b} pos ${t} logit ${i}: ${v} vs ${golden[(b * T + t) * V + i]}`,
            ),
          ),
        );
      }
    });
  }
}
