// Loss and gradients of the training graph against PyTorch + PEFT (test/fixtures/golden/grad): (IA)³
// vectors and LoRA matrices of tiny llama, qwen2 and gpt2 models, and every weight for vanilla.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { loadAdapter } from "../../src/adapters/peft-io.ts";
import { compile } from "../../src/engine/runtime/compile.ts";
import { loadTensors } from "../../src/models/io/safetensors.ts";
import { loadModel } from "../../src/models/index.ts";
import { buildTrainGraph } from "../../src/training/train-graph.ts";
import { batchFeeds, scoredFeeds } from "./helpers.ts";

const G = "test/fixtures/golden/grad";

async function check(model: string, method: "tfew" | "lora" | "vanilla", dir: string, scoredOnly = false): Promise<void> {
  const m = await loadModel(`test/fixtures/models/${model}`);
  const expected = JSON.parse(readFileSync(`${dir}/expected.json`, "utf8")) as { loss: number };
  const adapter = method === "vanilla" ? undefined : await loadAdapter(`${dir}/adapter`, m.config);
  const tg = buildTrainGraph(m, { method, adapter, withGrads: true, scoredOnly });
  const c = await compile(tg.graph, { intraOpThreads: 1 });
  try {
    const feeds = scoredOnly ? scoredFeeds(dir) : batchFeeds(dir);
    for (const k of tg.trainable) {
      const data = adapter ? adapter.tensors.get(k)!.data : m.weights.get(k)!.data;
      feeds[k] = { dtype: "float32", shape: tg.shapes.get(k)!, data };
    }
    const out = await c.run(feeds);
    const loss = (out.loss!.data as Float32Array)[0]!;
    assert.ok(Math.abs(loss - expected.loss) < 1e-5, `loss ${loss} vs ${expected.loss}`);
    const golden = await loadTensors(`${dir}/grads.safetensors`);
    assert.deepEqual(new Set(golden.keys()), new Set(tg.trainable), "gradient keys");
    for (const k of tg.trainable) {
      const want = await golden.get(k)!.float32();
      const got = out[`grad.${k}`]!.data as Float32Array;
      const scale = want.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
      want.forEach((v, i) => assert.ok(Math.abs(got[i]! - v) <= 1e-4 * scale + 1e-7, `${k}[${i}]: ${got[i]} vs ${v}`));
    }
  } finally {
    await c.dispose();
  }
}

for (const model of ["tiny-llama", "tiny-qwen2", "tiny-gpt2"]) {
  test(`${model}: (IA)³ loss and gradients match PEFT`, () => check(model, "tfew", `${G}/${model}-ia3`));
  test(`${model}: LoRA loss and gradients match PEFT`, () => check(model, "lora", `${G}/${model}-lora`));
}
test("tiny-llama: vanilla loss and every weight's gradient match PyTorch", () => check("tiny-llama", "vanilla", `${G}/tiny-llama-full`));
// the LM head on scored positions only (what fineTune runs) gives the same loss and gradients
test("scored positions only: (IA)³ matches PEFT", () => check("tiny-llama", "tfew", `${G}/tiny-llama-ia3`, true));
test("scored positions only: LoRA matches PEFT", () => check("tiny-gpt2", "lora", `${G}/tiny-gpt2-lora`, true));
test("scored positions only: vanilla matches PyTorch", () => check("tiny-llama", "vanilla", `${G}/tiny-llama-full`, true));
