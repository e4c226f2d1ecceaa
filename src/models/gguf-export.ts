// A Llama-family model (llama, mistral) as a GGUF file llama.cpp runs: weights renamed to llama.cpp's
// tensor names (q/k rows reordered from HF's rotate-half RoPE layout to llama.cpp's interleaved one, as
// convert_hf_to_gguf.py does), hyperparameters under `llama.*`, and the byte-level BPE tokenizer of
// tokenizer.json under `tokenizer.ggml.*`. 1-D tensors stay F32, as llama.cpp expects.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { WeightMap } from "./graph/weight-source.ts";
import type { ModelConfig } from "./io/hf-config.ts";
import { ModelIoError } from "./io/errors.ts";
import { type GgmlType, type GgufTensor, type GgufValue, writeGguf } from "./io/gguf.ts";

/** llama.cpp's general.file_type for each export type */
const FILE_TYPE: Record<GgmlType, number> = { F32: 0, F16: 1, Q8_0: 7 };

/** Why this model cannot become a GGUF (null when it can). */
export function ggufProblem(config: ModelConfig, tokenizerDir: string): string | null {
  if (config.family !== "llama" && config.family !== "mistral") return `GGUF export supports the Llama family (llama, mistral), not ${config.family}`;
  if (config.ropeScaling) return "GGUF export of RoPE-scaled (Llama 3.1) models is not supported yet";
  if (config.attentionBias || config.oBias || config.mlpBias) return "GGUF export of Llama models with biases is not supported";
  if (!existsSync(join(tokenizerDir, "tokenizer.json"))) return "GGUF needs the model's tokenizer: this model has no tokenizer.json";
  return null;
}

/** HF's (out, in) q/k weight rows per head [half 0 | half 1] → llama.cpp's interleaved pairs. */
function permuteRope(w: Float32Array, rows: number, cols: number, heads: number): Float32Array {
  const dh = rows / heads;
  const half = dh / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < half; i++)
      for (let s = 0; s < 2; s++) {
        const src = (h * dh + s * half + i) * cols;
        const dst = (h * dh + 2 * i + s) * cols;
        out.set(w.subarray(src, src + cols), dst);
      }
  return out;
}

function tensors(config: ModelConfig, weights: WeightMap, type: GgmlType): GgufTensor[] {
  const out: GgufTensor[] = [];
  const add = (name: string, hf: string, transform?: (w: Float32Array, shape: number[]) => Float32Array) => {
    const w = weights.get(hf);
    if (!w) throw new Error(`GGUF export: weight ${hf} is missing`);
    const shape = [...w.shape];
    // a row length that Q8_0 cannot block (e.g. ffn_down of an odd width) falls back to F16, as llama.cpp's converter does
    const t: GgmlType = shape.length === 1 ? "F32" : type === "Q8_0" && shape.at(-1)! % 32 !== 0 ? "F16" : type;
    out.push({ name, shape, data: transform ? transform(w.data, shape) : w.data, type: t });
  };
  add("token_embd.weight", "model.embed_tokens.weight");
  for (let i = 0; i < config.numLayers; i++) {
    const p = `model.layers.${i}`;
    add(`blk.${i}.attn_norm.weight`, `${p}.input_layernorm.weight`);
    add(`blk.${i}.attn_q.weight`, `${p}.self_attn.q_proj.weight`, (w, s) => permuteRope(w, s[0]!, s[1]!, config.numHeads));
    add(`blk.${i}.attn_k.weight`, `${p}.self_attn.k_proj.weight`, (w, s) => permuteRope(w, s[0]!, s[1]!, config.numKvHeads));
    add(`blk.${i}.attn_v.weight`, `${p}.self_attn.v_proj.weight`);
    add(`blk.${i}.attn_output.weight`, `${p}.self_attn.o_proj.weight`);
    add(`blk.${i}.ffn_norm.weight`, `${p}.post_attention_layernorm.weight`);
    add(`blk.${i}.ffn_gate.weight`, `${p}.mlp.gate_proj.weight`);
    add(`blk.${i}.ffn_up.weight`, `${p}.mlp.up_proj.weight`);
    add(`blk.${i}.ffn_down.weight`, `${p}.mlp.down_proj.weight`);
  }
  add("output_norm.weight", "model.norm.weight");
  // tied embeddings: llama.cpp uses token_embd when there is no output tensor
  if (!config.tieWordEmbeddings) add("output.weight", "lm_head.weight");
  return out;
}

interface TokenizerJson {
  model?: { type?: string; vocab?: Record<string, number>; merges?: (string | [string, string])[] };
  pre_tokenizer?: unknown;
  added_tokens?: { id: number; content: string; special?: boolean }[];
}

/** tokenizer.json's BPE vocabulary and merges as llama.cpp's `gpt2` tokenizer model. */
function tokenizerMetadata(dir: string, config: ModelConfig, vocabSize: number): [string, GgufValue][] {
  const file = join(dir, "tokenizer.json");
  const tj = JSON.parse(readFileSync(file, "utf8")) as TokenizerJson;
  if (tj.model?.type !== "BPE" || !tj.model.vocab || !tj.model.merges) throw new ModelIoError(file, "GGUF export reads byte-level BPE tokenizers only");
  if (!JSON.stringify(tj.pre_tokenizer ?? null).includes("ByteLevel")) throw new ModelIoError(file, "GGUF export reads byte-level BPE tokenizers only (no ByteLevel pre-tokenizer)");
  const tokens: string[] = Array.from({ length: vocabSize }, (_, i) => `[PAD${i}]`);
  const types = new Int32Array(vocabSize).fill(1); // 1 normal, 3 control, 4 user-defined, 5 unused
  const padded = new Set(tokens.keys());
  for (const [t, id] of Object.entries(tj.model.vocab))
    if (id < vocabSize) {
      tokens[id] = t;
      padded.delete(id);
    }
  for (const a of tj.added_tokens ?? [])
    if (a.id < vocabSize) {
      tokens[a.id] = a.content;
      types[a.id] = a.special ? 3 : 4;
      padded.delete(a.id);
    }
  for (const id of padded) types[id] = 5;
  const merges = tj.model.merges.map((m) => (typeof m === "string" ? m : m.join(" ")));
  const cfg = existsSync(join(dir, "tokenizer_config.json")) ? (JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8")) as Record<string, unknown>) : {};
  const md: [string, GgufValue][] = [
    ["tokenizer.ggml.model", { type: "string", value: "gpt2" }],
    ["tokenizer.ggml.pre", { type: "string", value: "gpt-2" }],
    ["tokenizer.ggml.tokens", { type: "string[]", value: tokens }],
    ["tokenizer.ggml.token_type", { type: "i32[]", value: types }],
    ["tokenizer.ggml.merges", { type: "string[]", value: merges }],
  ];
  if (config.bosTokenId !== null) md.push(["tokenizer.ggml.bos_token_id", { type: "u32", value: config.bosTokenId }]);
  if (config.eosTokenIds[0] !== undefined) md.push(["tokenizer.ggml.eos_token_id", { type: "u32", value: config.eosTokenIds[0] }]);
  if (typeof cfg.add_bos_token === "boolean") md.push(["tokenizer.ggml.add_bos_token", { type: "bool", value: cfg.add_bos_token }]);
  if (typeof cfg.add_eos_token === "boolean") md.push(["tokenizer.ggml.add_eos_token", { type: "bool", value: cfg.add_eos_token }]);
  const chat = cfg.chat_template;
  if (typeof chat === "string") md.push(["tokenizer.chat_template", { type: "string", value: chat }]);
  return md;
}

/** Write `config` + `weights` (float32, HF names) with the tokenizer of `tokenizerDir` to a GGUF file. */
export async function exportGguf(path: string, o: { config: ModelConfig; weights: WeightMap; tokenizerDir: string; name: string; type: GgmlType }): Promise<void> {
  const why = ggufProblem(o.config, o.tokenizerDir);
  if (why) throw new ModelIoError(o.tokenizerDir, why);
  const c = o.config;
  const md = new Map<string, GgufValue>([
    ["general.architecture", { type: "string", value: "llama" }],
    ["general.name", { type: "string", value: o.name }],
    ["general.file_type", { type: "u32", value: FILE_TYPE[o.type] }],
    ["general.quantization_version", { type: "u32", value: 2 }],
    ["llama.context_length", { type: "u32", value: c.maxPositions }],
    ["llama.embedding_length", { type: "u32", value: c.hiddenSize }],
    ["llama.block_count", { type: "u32", value: c.numLayers }],
    ["llama.feed_forward_length", { type: "u32", value: c.intermediateSize }],
    ["llama.attention.head_count", { type: "u32", value: c.numHeads }],
    ["llama.attention.head_count_kv", { type: "u32", value: c.numKvHeads }],
    ["llama.attention.key_length", { type: "u32", value: c.headDim }],
    ["llama.attention.value_length", { type: "u32", value: c.headDim }],
    ["llama.rope.dimension_count", { type: "u32", value: c.headDim }],
    ["llama.rope.freq_base", { type: "f32", value: c.ropeTheta ?? 10000 }],
    ["llama.attention.layer_norm_rms_epsilon", { type: "f32", value: c.normEps }],
    ["llama.vocab_size", { type: "u32", value: c.vocabSize }],
    ...tokenizerMetadata(o.tokenizerDir, c, c.vocabSize),
  ]);
  await writeGguf(path, md, tensors(c, o.weights, o.type));
}
