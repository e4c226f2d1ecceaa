// A seeded random model with SmolLM2-135M's config in Hugging Face layout, written once into the git-ignored
// .sprig-cache: benches (generate, finetune, serve) need its shapes and cost, not trained weights.
// Written to a temp dir and renamed into place, so concurrent callers never see half a model.

import { existsSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Rng } from "../src/engine/index.ts";
import { parseHfConfig } from "../src/models/io/hf-config.ts";
import { type TensorToWrite, writeSafetensors } from "../src/models/io/safetensors.ts";
import { expectedTensors } from "../src/models/io/weights.ts";

/** SmolLM2-135M's config.json (HuggingFaceTB/SmolLM2-135M), the fields our loader reads. */
export const SMOLLM2_135M_CONFIG = {
  architectures: ["LlamaForCausalLM"],
  model_type: "llama",
  hidden_size: 576,
  num_hidden_layers: 30,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  head_dim: 64,
  intermediate_size: 1536,
  vocab_size: 49152,
  tie_word_embeddings: true,
  rope_theta: 100000,
  max_position_embeddings: 2048,
  rms_norm_eps: 1e-5,
  hidden_act: "silu",
  bos_token_id: 0,
  eos_token_id: 0,
  torch_dtype: "float32",
} as const;

const SEED = 135;
const STD = 0.02;
const CACHE_ROOT = fileURLToPath(new URL("../.sprig-cache/", import.meta.url));
const DIR = join(CACHE_ROOT, "smollm2-135m-random");

let pending: Promise<string> | null = null;

/** Directory of the random SmolLM2-135M-shaped model, writing it first if it is not there yet (~540 MB, ~20 s). */
export function ensureSmolLMRandom(): Promise<string> {
  if (existsSync(join(DIR, "model.safetensors"))) return Promise.resolve(DIR);
  // callers in one process share one write
  pending ??= write().finally(() => (pending = null));
  return pending;
}

async function write(): Promise<string> {
  await mkdir(CACHE_ROOT, { recursive: true });
  const tmp = join(CACHE_ROOT, `.smollm2-135m-random.${process.pid}.${Date.now()}.tmp`);
  await mkdir(tmp, { recursive: true });
  try {
    const config = parseHfConfig(SMOLLM2_135M_CONFIG, "smollm2-135m-random");
    const rng = new Rng(SEED);
    const tensors: Record<string, TensorToWrite> = {};
    // expectedTensors' order is fixed, so the seed alone determines every weight
    for (const [name, shape] of expectedTensors(config)) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = name.endsWith("norm.weight") ? new Float32Array(n).fill(1) : rng.normalArray(n, STD);
      tensors[name] = { dtype: "F32", shape, data };
    }
    await writeFile(join(tmp, "config.json"), JSON.stringify(SMOLLM2_135M_CONFIG, null, 2) + "\n");
    await writeSafetensors(join(tmp, "model.safetensors"), tensors, { format: "pt", sprig_seed: String(SEED) });
    try {
      await rename(tmp, DIR);
    } catch (e) {
      // another process won the race: its directory is complete (renames are atomic), use it
      if (!existsSync(join(DIR, "model.safetensors"))) throw e;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return DIR;
}
