// Weight checking and loading: real checkpoints (stories260K, transformers-written fixtures for every family)
// load with exactly the expected tensors; mismatches are all reported in one error.

import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ModelIoError } from "../../../src/models/io/errors.ts";
import { type ModelConfig, loadHfConfig, parseHfConfig } from "../../../src/models/io/hf-config.ts";
import { type TensorToWrite, loadTensors, writeSafetensors } from "../../../src/models/io/safetensors.ts";
import { expectedTensors, loadWeights } from "../../../src/models/io/weights.ts";

const STORIES = "test/fixtures/models/stories260K-hf";

test("stories260K loads with exactly the expected tensors", async () => {
  const config = await loadHfConfig(STORIES);
  const expected = expectedTensors(config);
  assert.equal(expected.size, 1 + 5 * 9 + 1); // embed, 9 per layer, final norm; tied: no lm_head
  assert.deepEqual(expected.get("model.layers.0.self_attn.k_proj.weight"), [32, 64]);
  assert.deepEqual(expected.get("model.layers.4.mlp.down_proj.weight"), [64, 172]);
  const stored = await loadTensors(STORIES);
  assert.deepEqual([...stored.keys()].sort(), [...expected.keys()].sort());

  const weights = await loadWeights(STORIES, config);
  assert.deepEqual([...weights.keys()], [...expected.keys()]);
  for (const [name, w] of weights) {
    assert.deepEqual(w.shape, expected.get(name));
    assert.ok(w.data instanceof Float32Array);
    assert.equal(w.data.length, w.shape.reduce((a, b) => a * b, 1));
  }
  const embed = weights.get("model.embed_tokens.weight")!.data;
  assert.deepEqual(embed, await stored.get("model.embed_tokens.weight")!.float32());
  assert.ok(embed.some((v) => v !== 0) && embed.every(Number.isFinite));
});

test("every family's transformers-written fixture checkpoint matches its expected tensors", async () => {
  for (const name of ["tiny-llama", "tiny-llama3", "tiny-llama-bf16", "tiny-llama-f16-sharded", "tiny-qwen2", "tiny-mistral", "tiny-gpt2"]) {
    const dir = `test/fixtures/models/${name}`;
    const config = await loadHfConfig(dir);
    const weights = await loadWeights(dir, config);
    assert.equal(weights.size, expectedTensors(config).size, name);
    if (config.family === "qwen2") assert.deepEqual(weights.get("model.layers.1.self_attn.k_proj.bias")?.shape, [config.numKvHeads * config.headDim]);
    if (config.family === "gpt2") assert.deepEqual(weights.get("transformer.h.0.attn.c_attn.weight")?.shape, [32, 96]);
    assert.equal(weights.has("lm_head.weight"), !config.tieWordEmbeddings, name);
  }
});

const small: ModelConfig = parseHfConfig(
  { model_type: "llama", vocab_size: 10, hidden_size: 8, intermediate_size: 12, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1 },
  "small/config.json",
);

function tensorsFor(shapes: Map<string, number[]>): Record<string, TensorToWrite> {
  const out: Record<string, TensorToWrite> = {};
  for (const [name, shape] of shapes) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).map((_, i) => i / 7);
    out[name] = { dtype: "BF16", shape, data };
  }
  return out;
}

test("a missing, an unexpected and a mis-shaped tensor are reported together, with shapes", async () => {
  const shapes = expectedTensors(small);
  const tensors = tensorsFor(shapes);
  delete tensors["model.layers.0.mlp.up_proj.weight"];
  tensors["model.layers.0.self_attn.q_proj.bias"] = { dtype: "F32", shape: [8], data: new Float32Array(8) };
  tensors["model.layers.0.self_attn.k_proj.weight"] = { dtype: "F32", shape: [8, 8], data: new Float32Array(64) };
  tensors["model.norm.weight"] = { dtype: "I32", shape: [8], data: new Int32Array(8) };
  const dir = mkdtempSync(join(tmpdir(), "sprig-w-"));
  await writeSafetensors(join(dir, "model.safetensors"), tensors);
  await assert.rejects(loadWeights(dir, small), (e: Error) => {
    assert.ok(e instanceof ModelIoError);
    assert.equal(e.file, dir);
    assert.match(e.message, /checkpoint does not match the llama config \(4 problems\)/);
    assert.match(e.message, /missing \(1\):\n {4}model.layers.0.mlp.up_proj.weight \[12, 8\]/);
    assert.match(e.message, /unexpected \(1\):\n {4}model.layers.0.self_attn.q_proj.bias F32\[8\]/);
    assert.match(e.message, /wrong shape \(1\):\n {4}model.layers.0.self_attn.k_proj.weight: expected \[4, 8\], found \[8, 8\]/);
    assert.match(e.message, /wrong dtype \(1\):\n {4}model.norm.weight: I32/);
    return true;
  });
});

test("weights come back as float32 from bf16 storage, in expected order", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sprig-w-"));
  const tensors = tensorsFor(expectedTensors(small));
  await writeSafetensors(join(dir, "model.safetensors"), tensors);
  const weights = await loadWeights(dir, small);
  const norm = weights.get("model.norm.weight")!;
  assert.deepEqual(norm.shape, [8]);
  // i/7 rounded to bfloat16 (8 significant bits), so within 2^-8 relative.
  norm.data.forEach((v, i) => assert.ok(Math.abs(v - i / 7) <= (i / 7) * 2 ** -8, `${i}: ${v}`));
  assert.deepEqual([...weights.keys()], [...expectedTensors(small).keys()]);
});

test("gpt2: unprefixed names, attention-mask buffers and a tied lm_head.weight are accepted", async () => {
  const config = parseHfConfig({ model_type: "gpt2", vocab_size: 11, n_embd: 8, n_layer: 2, n_head: 2, n_positions: 16 }, "gpt2/config.json");
  const expected = expectedTensors(config);
  assert.deepEqual(expected.get("transformer.h.1.mlp.c_fc.weight"), [8, 32]);
  assert.deepEqual(expected.get("transformer.h.1.mlp.c_proj.weight"), [32, 8]);
  assert.deepEqual(expected.get("transformer.wpe.weight"), [16, 8]);
  assert.equal(expected.has("lm_head.weight"), false);
  const tensors: Record<string, TensorToWrite> = {};
  for (const [name, t] of Object.entries(tensorsFor(expected))) tensors[name.replace(/^transformer\./, "")] = t;
  for (const i of [0, 1]) {
    tensors[`h.${i}.attn.bias`] = { dtype: "F32", shape: [1, 1, 16, 16], data: new Float32Array(256) };
    tensors[`h.${i}.attn.masked_bias`] = { dtype: "F32", shape: [], data: Float32Array.of(-1e4) };
  }
  tensors["lm_head.weight"] = { dtype: "F32", shape: [11, 8], data: new Float32Array(88) };
  const dir = mkdtempSync(join(tmpdir(), "sprig-w-"));
  await writeSafetensors(join(dir, "model.safetensors"), tensors);
  const weights = await loadWeights(dir, config);
  assert.deepEqual([...weights.keys()], [...expected.keys()]);

  // An untied model needs its lm_head; a wrongly shaped tied one is still an error.
  const untied = { ...config, tieWordEmbeddings: false };
  assert.deepEqual(expectedTensors(untied).get("lm_head.weight"), [11, 8]);
  tensors["lm_head.weight"] = { dtype: "F32", shape: [8, 11], data: new Float32Array(88) };
  await writeSafetensors(join(dir, "model.safetensors"), tensors);
  await assert.rejects(loadWeights(dir, config), /lm_head.weight: expected \[11, 8\], found \[8, 11\]/);
});
