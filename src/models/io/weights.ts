// The tensors each family's checkpoint must hold (Hugging Face names and shapes), and a loader that checks
// a model directory against them — every missing, unexpected and mis-shaped tensor in one error — and
// returns the weights as float32.

import type { ModelConfig } from "./hf-config.ts";
import { ModelIoError } from "./errors.ts";
import { type StorageDType, type TensorEntry, loadTensors } from "./safetensors.ts";

/** One weight in float32, row-major in the checkpoint's layout (GPT-2 Conv1D weights are [in, out]). */
export interface WeightTensor {
  shape: number[];
  data: Float32Array;
}

/** Canonical tensor names (as in HF checkpoints, gpt2 with the `transformer.` prefix) -> shape. */
export function expectedTensors(config: ModelConfig): Map<string, number[]> {
  return config.family === "gpt2" ? gpt2Tensors(config) : llamaTensors(config);
}

function llamaTensors(c: ModelConfig): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const h = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const ff = c.intermediateSize;
  m.set("model.embed_tokens.weight", [c.vocabSize, h]);
  for (let i = 0; i < c.numLayers; i++) {
    const p = `model.layers.${i}`;
    m.set(`${p}.input_layernorm.weight`, [h]);
    for (const [name, rows] of [["q_proj", q], ["k_proj", kv], ["v_proj", kv]] as const) {
      m.set(`${p}.self_attn.${name}.weight`, [rows, h]);
      if (c.attentionBias) m.set(`${p}.self_attn.${name}.bias`, [rows]);
    }
    m.set(`${p}.self_attn.o_proj.weight`, [h, q]);
    if (c.oBias) m.set(`${p}.self_attn.o_proj.bias`, [h]);
    m.set(`${p}.post_attention_layernorm.weight`, [h]);
    for (const [name, shape] of [["gate_proj", [ff, h]], ["up_proj", [ff, h]], ["down_proj", [h, ff]]] as const) {
      m.set(`${p}.mlp.${name}.weight`, [...shape]);
      if (c.mlpBias) m.set(`${p}.mlp.${name}.bias`, [shape[0]]);
    }
  }
  m.set("model.norm.weight", [h]);
  if (!c.tieWordEmbeddings) m.set("lm_head.weight", [c.vocabSize, h]);
  return m;
}

function gpt2Tensors(c: ModelConfig): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const h = c.hiddenSize;
  const ff = c.intermediateSize;
  m.set("transformer.wte.weight", [c.vocabSize, h]);
  m.set("transformer.wpe.weight", [c.maxPositions, h]);
  const linear = (name: string, inDim: number, outDim: number): void => {
    m.set(`${name}.weight`, [inDim, outDim]); // Conv1D stores the transpose of nn.Linear
    m.set(`${name}.bias`, [outDim]);
  };
  const norm = (name: string): void => {
    m.set(`${name}.weight`, [h]);
    m.set(`${name}.bias`, [h]);
  };
  for (let i = 0; i < c.numLayers; i++) {
    const p = `transformer.h.${i}`;
    norm(`${p}.ln_1`);
    linear(`${p}.attn.c_attn`, h, 3 * h);
    linear(`${p}.attn.c_proj`, h, h);
    norm(`${p}.ln_2`);
    linear(`${p}.mlp.c_fc`, h, ff);
    linear(`${p}.mlp.c_proj`, ff, h);
  }
  norm("transformer.ln_f");
  if (!c.tieWordEmbeddings) m.set("lm_head.weight", [c.vocabSize, h]);
  return m;
}

// Non-parameter buffers some exporters save: GPT-2's causal mask and older Llama's rotary cache.
const IGNORED = [/^(transformer\.)?h\.\d+\.attn\.(bias|masked_bias)$/, /\.rotary_emb\.inv_freq$/];
const FLOAT_DTYPES: readonly StorageDType[] = ["F32", "F16", "BF16"];

const fmt = (shape: readonly number[]): string => `[${shape.join(", ")}]`;
const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Match stored tensors (name -> dtype, shape) to the expected ones. Returns canonical name -> stored name,
 * or throws one ModelIoError listing every problem. `source` names the checkpoint in the error.
 */
export function matchTensors(
  config: ModelConfig,
  stored: ReadonlyMap<string, { dtype: StorageDType; shape: readonly number[] }>,
  source: string,
): Map<string, string> {
  const expected = expectedTensors(config);
  const matched = new Map<string, string>();
  const missing: string[] = [];
  const unexpected: string[] = [];
  const misShaped: string[] = [];
  const badDtype: string[] = [];
  for (const [name, t] of stored) {
    if (IGNORED.some((re) => re.test(name))) continue;
    let canonical = name;
    // Some GPT-2 checkpoints (e.g. the original `gpt2` repository) omit the `transformer.` prefix.
    if (config.family === "gpt2" && !expected.has(name) && expected.has(`transformer.${name}`)) canonical = `transformer.${name}`;
    // A tied checkpoint may still carry lm_head.weight; transformers overwrites it with the embedding.
    const shape = expected.get(canonical) ?? (canonical === "lm_head.weight" && config.tieWordEmbeddings ? [config.vocabSize, config.hiddenSize] : undefined);
    if (shape === undefined) unexpected.push(`${name} ${t.dtype}${fmt(t.shape)}`);
    else if (matched.has(canonical)) unexpected.push(`${name} (duplicate of ${matched.get(canonical)})`);
    else if (!sameShape(shape, t.shape)) misShaped.push(`${name}: expected ${fmt(shape)}, found ${fmt(t.shape)}`);
    else if (!FLOAT_DTYPES.includes(t.dtype)) badDtype.push(`${name}: ${t.dtype} (expected F32, F16 or BF16)`);
    if (shape !== undefined && !matched.has(canonical)) matched.set(canonical, name);
  }
  for (const [name, shape] of expected) if (!matched.has(name)) missing.push(`${name} ${fmt(shape)}`);
  const sections: [string, string[]][] = [
    ["missing", missing],
    ["unexpected", unexpected],
    ["wrong shape", misShaped],
    ["wrong dtype", badDtype],
  ];
  const count = sections.reduce((n, [, list]) => n + list.length, 0);
  if (count > 0) {
    const body = sections.filter(([, l]) => l.length > 0).map(([title, l]) => `${title} (${l.length}):\n    ${l.join("\n    ")}`);
    throw new ModelIoError(source, `checkpoint does not match the ${config.family} config (${count} problem${count > 1 ? "s" : ""}):\n  ${body.join("\n  ")}`);
  }
  if (config.tieWordEmbeddings) matched.delete("lm_head.weight");
  return matched;
}

/**
 * Load and check the weights of the model directory `dir` (model.safetensors or an index of shards).
 * Returns canonical name -> float32 tensor, in expectedTensors order; a tied model has no lm_head.weight.
 */
export async function loadWeights(dir: string, config: ModelConfig): Promise<Map<string, WeightTensor>> {
  const stored: Map<string, TensorEntry> = await loadTensors(dir);
  const matched = matchTensors(config, stored, dir);
  const out = new Map<string, WeightTensor>();
  for (const name of expectedTensors(config).keys()) {
    const entry = stored.get(matched.get(name)!)!;
    out.set(name, { shape: [...entry.shape], data: await entry.float32() });
  }
  return out;
}
