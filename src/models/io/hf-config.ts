// Hugging Face config.json -> one normalized, validated ModelConfig for the families we build graphs for
// (llama, qwen2, mistral, gpt2). Missing optional keys take the defaults of the transformers config class,
// so a config means here what it means to transformers. Every field of those classes is either honoured
// or refused here, or has no effect on the maths: config-fields.ts says which, and why; keys that are no
// field of the class are ignored, as transformers ignores them.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { issueList, listProblems } from "../../errors/index.ts";
import { ModelIoError } from "./errors.ts";

export const SUPPORTED_MODEL_TYPES = ["llama", "qwen2", "mistral", "gpt2"] as const;
export type ModelFamily = (typeof SUPPORTED_MODEL_TYPES)[number];

/** Normalized activation names: "gelu_tanh" is HF's gelu_new / gelu_pytorch_tanh / gelu_fast (tanh approximation). */
export type Activation = "silu" | "gelu" | "gelu_tanh" | "relu";

const ACTIVATIONS: Record<string, Activation> = {
  silu: "silu",
  swish: "silu",
  gelu: "gelu",
  gelu_new: "gelu_tanh",
  gelu_pytorch_tanh: "gelu_tanh",
  gelu_fast: "gelu_tanh",
  relu: "relu",
};

/** Llama 3.1-style RoPE frequency scaling (HF rope_type "llama3"). */
export interface Llama3RopeScaling {
  type: "llama3";
  /** Divisor applied to the low frequencies. */
  factor: number;
  /** Wavelengths longer than originalMaxPositions / lowFreqFactor are fully scaled. */
  lowFreqFactor: number;
  /** Wavelengths shorter than originalMaxPositions / highFreqFactor are left alone. */
  highFreqFactor: number;
  /** Context length used in pretraining (`original_max_position_embeddings`). */
  originalMaxPositions: number;
}

export interface ModelConfig {
  /** Which graph builder applies (HF `model_type`). */
  family: ModelFamily;
  /** Rows of the embedding and of the LM head. */
  vocabSize: number;
  /** Width of the residual stream (`hidden_size`, gpt2 `n_embd`). */
  hiddenSize: number;
  /** Decoder blocks (`num_hidden_layers`, gpt2 `n_layer`). */
  numLayers: number;
  /** Query heads (`num_attention_heads`, gpt2 `n_head`). */
  numHeads: number;
  /** Key/value heads; < numHeads means grouped-query attention (defaults to numHeads). */
  numKvHeads: number;
  /** Per-head width: config `head_dim` when given, else hiddenSize / numHeads. */
  headDim: number;
  /** MLP inner width (`intermediate_size`; gpt2 `n_inner`, default 4 * n_embd). */
  intermediateSize: number;
  /** Longest sequence the position scheme is configured for (`max_position_embeddings`, gpt2 `n_positions`). */
  maxPositions: number;
  /** "rope" (llama family) or "learned" absolute embeddings (gpt2 `wpe`). */
  positionEmbedding: "rope" | "learned";
  /** RMSNorm (weight only) or LayerNorm (weight and bias). */
  normKind: "rms" | "layer";
  /** Epsilon inside the norm (`rms_norm_eps`, gpt2 `layer_norm_epsilon`). */
  normEps: number;
  /** MLP activation; for the llama family it is the gate's activation in the gated MLP. */
  activation: Activation;
  /** RoPE base; null when positions are learned. */
  ropeTheta: number | null;
  /** RoPE frequency scaling, null for plain RoPE. */
  ropeScaling: Llama3RopeScaling | null;
  /** Mistral's sliding attention window in tokens, null when attention is global. */
  slidingWindow: number | null;
  /** LM head shares the embedding matrix (HF default: false for the llama family, true for gpt2). */
  tieWordEmbeddings: boolean;
  /** q/k/v projections have biases (qwen2 and gpt2 always; llama `attention_bias`). */
  attentionBias: boolean;
  /** Attention output projection has a bias (llama `attention_bias`; gpt2 always). */
  oBias: boolean;
  /** MLP projections have biases (llama `mlp_bias`; gpt2 always). */
  mlpBias: boolean;
  /** Beginning-of-sequence id, if the config names one. */
  bosTokenId: number | null;
  /** End-of-sequence ids (HF allows one id or a list); generation stops on any of them. */
  eosTokenIds: number[];
  /** Dtype the checkpoint was saved in (`torch_dtype`, or `dtype` in newer configs), e.g. "bfloat16". */
  torchDtype: string | null;
}

const posInt = z.number().int().positive();
const tokenId = z.number().int().nonnegative();
const ropeDict = z.record(z.string(), z.unknown());
const common = {
  vocab_size: posInt,
  bos_token_id: tokenId.nullable().optional(),
  eos_token_id: z.union([tokenId, z.array(tokenId), z.null()], { error: "expected a token id, a list of ids or null" }).optional(),
  torch_dtype: z.string().nullable().optional(),
  dtype: z.string().nullable().optional(),
  tie_word_embeddings: z.boolean().optional(),
};
const llamaSchema = z.object({
  ...common,
  hidden_size: posInt,
  intermediate_size: posInt,
  num_hidden_layers: posInt,
  num_attention_heads: posInt,
  num_key_value_heads: posInt.nullable().optional(),
  head_dim: posInt.nullable().optional(),
  max_position_embeddings: posInt.optional(),
  rms_norm_eps: z.number().positive().optional(),
  hidden_act: z.string().optional(),
  rope_theta: z.number().positive().optional(),
  rope_scaling: ropeDict.nullable().optional(),
  rope_parameters: ropeDict.nullable().optional(),
  partial_rotary_factor: z.number().optional(),
  attention_bias: z.boolean().optional(),
  mlp_bias: z.boolean().optional(),
  sliding_window: posInt.nullable().optional(),
  use_sliding_window: z.boolean().optional(),
});
const gpt2Schema = z.object({
  ...common,
  n_embd: posInt,
  n_layer: posInt,
  n_head: posInt,
  n_positions: posInt.optional(),
  n_inner: posInt.nullable().optional(),
  layer_norm_epsilon: z.number().positive().optional(),
  activation_function: z.string().optional(),
  scale_attn_weights: z.boolean().optional(),
  scale_attn_by_inverse_layer_idx: z.boolean().optional(),
  reorder_and_upcast_attn: z.boolean().optional(),
  add_cross_attention: z.boolean().optional(),
});

/** The config.json keys the parser reads, per schema (config-fields.test.ts checks each has a rule). */
export const PARSED_KEYS = { llama: Object.keys(llamaSchema.shape), gpt2: Object.keys(gpt2Schema.shape) } as const;

// transformers' class defaults for keys a config may omit.
const LLAMA_DEFAULTS: Record<Exclude<ModelFamily, "gpt2">, { maxPositions: number; slidingWindow: number | null }> = {
  llama: { maxPositions: 2048, slidingWindow: null },
  mistral: { maxPositions: 4096 * 32, slidingWindow: 4096 },
  qwen2: { maxPositions: 32768, slidingWindow: null },
};

function eosList(eos: number | number[] | null | undefined): number[] {
  if (eos === null || eos === undefined) return [];
  return Array.isArray(eos) ? eos : [eos];
}

function parseRope(c: z.infer<typeof llamaSchema>, maxPositions: number, problems: string[]): { theta: number; scaling: Llama3RopeScaling | null } {
  // transformers v5 writes `rope_parameters` (with rope_theta inside); v4 writes `rope_theta` + `rope_scaling`.
  const params = c.rope_parameters ?? c.rope_scaling ?? {};
  const theta = typeof params.rope_theta === "number" ? params.rope_theta : (c.rope_theta ?? 10000);
  const type = params.rope_type ?? params.type ?? "default";
  const partial = params.partial_rotary_factor ?? c.partial_rotary_factor;
  if (partial !== undefined && partial !== 1) problems.push(`partial_rotary_factor: ${JSON.stringify(partial)} is not supported (only 1.0)`);
  if (type === "default") return { theta, scaling: null };
  if (type !== "llama3") {
    problems.push(`rope type ${JSON.stringify(type)} is not supported (supported: default, llama3)`);
    return { theta, scaling: null };
  }
  const num = (key: string, fallback?: number): number => {
    const v = params[key] ?? fallback;
    if (typeof v === "number" && v > 0) return v;
    problems.push(`rope llama3 ${key}: ${v === undefined ? "missing (required)" : `expected a positive number (found ${JSON.stringify(v)})`}`);
    return NaN;
  };
  const scaling: Llama3RopeScaling = {
    type: "llama3",
    factor: num("factor"),
    lowFreqFactor: num("low_freq_factor"),
    highFreqFactor: num("high_freq_factor"),
    originalMaxPositions: num("original_max_position_embeddings", maxPositions),
  };
  if (scaling.highFreqFactor <= scaling.lowFreqFactor) problems.push("rope llama3: high_freq_factor must exceed low_freq_factor");
  return { theta, scaling };
}

function activationOf(name: string, field: string, problems: string[]): Activation {
  const a = ACTIVATIONS[name];
  if (a === undefined) problems.push(`${field}: activation ${JSON.stringify(name)} is not supported (supported: ${Object.keys(ACTIVATIONS).join(", ")})`);
  return a ?? "silu";
}

function fail(source: string, problems: string[]): never {
  throw new ModelIoError(source, listProblems("invalid model config:", problems, problems.length));
}

/** Validate a parsed config.json; `source` names the file in errors. */
export function parseHfConfig(raw: unknown, source: string): ModelConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail(source, ["expected a JSON object"]);
  const obj = raw as Record<string, unknown>;
  const modelType = obj.model_type;
  if (!(SUPPORTED_MODEL_TYPES as readonly unknown[]).includes(modelType)) {
    const what = modelType === undefined ? "model_type: missing (required)" : `model_type ${JSON.stringify(modelType)} is not supported`;
    fail(source, [`${what}; supported model types: ${SUPPORTED_MODEL_TYPES.join(", ")}`]);
  }
  const family = modelType as ModelFamily;
  return family === "gpt2" ? parseGpt2(obj, source) : parseLlamaLike(family, obj, source);
}

function parseLlamaLike(family: Exclude<ModelFamily, "gpt2">, obj: Record<string, unknown>, source: string): ModelConfig {
  const parsed = llamaSchema.safeParse(obj);
  if (!parsed.success) fail(source, issueList(parsed.error.issues, { input: obj, whole: "config.json" }));
  const c = parsed.data;
  const problems: string[] = [];
  const numHeads = c.num_attention_heads;
  const numKvHeads = c.num_key_value_heads ?? numHeads;
  if (c.head_dim == null && c.hidden_size % numHeads !== 0)
    problems.push(`hidden_size ${c.hidden_size} is not divisible by num_attention_heads ${numHeads} (and head_dim is not given)`);
  const headDim = c.head_dim ?? Math.floor(c.hidden_size / numHeads);
  if (numHeads % numKvHeads !== 0) problems.push(`num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`);
  if (headDim % 2 !== 0) problems.push(`head dimension ${headDim} must be even for rotary embeddings`);
  const defaults = LLAMA_DEFAULTS[family];
  const maxPositions = c.max_position_embeddings ?? defaults.maxPositions;
  const rope = parseRope(c, maxPositions, problems);
  let slidingWindow: number | null = null;
  if (family === "mistral") slidingWindow = c.sliding_window === undefined ? defaults.slidingWindow : c.sliding_window;
  // Qwen2 windows only the layers from max_window_layers on; one window for every layer cannot compute that.
  if (family === "qwen2" && c.use_sliding_window === true)
    problems.push("use_sliding_window: true is not supported for qwen2 (transformers windows only the layers from max_window_layers on; Sprig windows every layer or none)");
  const activation = activationOf(c.hidden_act ?? "silu", "hidden_act", problems);
  if (problems.length > 0) fail(source, problems);
  const attentionBias = family === "qwen2" ? true : family === "llama" ? (c.attention_bias ?? false) : false;
  return {
    family,
    vocabSize: c.vocab_size,
    hiddenSize: c.hidden_size,
    numLayers: c.num_hidden_layers,
    numHeads,
    numKvHeads,
    headDim,
    intermediateSize: c.intermediate_size,
    maxPositions,
    positionEmbedding: "rope",
    normKind: "rms",
    normEps: c.rms_norm_eps ?? 1e-6,
    activation,
    ropeTheta: rope.theta,
    ropeScaling: rope.scaling,
    slidingWindow,
    tieWordEmbeddings: c.tie_word_embeddings ?? false,
    attentionBias,
    oBias: family === "llama" ? (c.attention_bias ?? false) : false,
    mlpBias: family === "llama" ? (c.mlp_bias ?? false) : false,
    // LlamaConfig and MistralConfig default to 1 / 2; Qwen2Config has no default.
    bosTokenId: c.bos_token_id === undefined ? (family === "qwen2" ? null : 1) : c.bos_token_id,
    eosTokenIds: c.eos_token_id === undefined ? (family === "qwen2" ? [] : [2]) : eosList(c.eos_token_id),
    torchDtype: c.torch_dtype ?? c.dtype ?? null,
  };
}

function parseGpt2(obj: Record<string, unknown>, source: string): ModelConfig {
  const parsed = gpt2Schema.safeParse(obj);
  if (!parsed.success) fail(source, issueList(parsed.error.issues, { input: obj, whole: "config.json" }));
  const c = parsed.data;
  const problems: string[] = [];
  if (c.n_embd % c.n_head !== 0) problems.push(`n_embd ${c.n_embd} is not divisible by n_head ${c.n_head}`);
  if (c.scale_attn_weights === false) problems.push("scale_attn_weights: false is not supported");
  if (c.scale_attn_by_inverse_layer_idx === true) problems.push("scale_attn_by_inverse_layer_idx: true is not supported");
  if (c.add_cross_attention === true) problems.push("add_cross_attention: true is not supported (a decoder-only model has no encoder to attend to)");
  const activation = activationOf(c.activation_function ?? "gelu_new", "activation_function", problems);
  if (problems.length > 0) fail(source, problems);
  return {
    family: "gpt2",
    vocabSize: c.vocab_size,
    hiddenSize: c.n_embd,
    numLayers: c.n_layer,
    numHeads: c.n_head,
    numKvHeads: c.n_head,
    headDim: c.n_embd / c.n_head,
    intermediateSize: c.n_inner ?? 4 * c.n_embd,
    maxPositions: c.n_positions ?? 1024,
    positionEmbedding: "learned",
    normKind: "layer",
    normEps: c.layer_norm_epsilon ?? 1e-5,
    activation,
    ropeTheta: null,
    ropeScaling: null,
    slidingWindow: null,
    tieWordEmbeddings: c.tie_word_embeddings ?? true,
    attentionBias: true,
    oBias: true,
    mlpBias: true,
    bosTokenId: c.bos_token_id === undefined ? 50256 : c.bos_token_id,
    eosTokenIds: c.eos_token_id === undefined ? [50256] : eosList(c.eos_token_id),
    torchDtype: c.torch_dtype ?? c.dtype ?? null,
  };
}

/** Read and validate `dir/config.json`. */
export async function loadHfConfig(dir: string): Promise<ModelConfig> {
  const file = join(dir, "config.json");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new ModelIoError(file, `cannot read model config (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ModelIoError(file, `not valid JSON (${(e as Error).message})`);
  }
  return parseHfConfig(raw, file);
}

/**
 * RoPE inverse frequencies, headDim / 2 of them, computed as transformers does (float32 arithmetic, step by
 * step): 1 / theta^(2i / headDim), then for llama3 scaling `_compute_llama3_parameters`: low frequencies
 * (wavelength > originalMaxPositions / lowFreqFactor) divided by factor, high frequencies kept, and the band
 * between interpolated smoothly.
 */
export function ropeInverseFrequencies(config: Pick<ModelConfig, "headDim" | "ropeTheta" | "ropeScaling">): Float32Array {
  if (config.ropeTheta === null) throw new Error("ropeInverseFrequencies: this model has no rotary embeddings");
  const f = Math.fround;
  const dim = config.headDim;
  const base = f(config.ropeTheta);
  const out = new Float32Array(dim / 2);
  for (let i = 0; i < out.length; i++) out[i] = f(1 / f(Math.pow(base, f(f(2 * i) / dim))));
  const s = config.ropeScaling;
  if (s === null) return out;
  const factor = f(s.factor);
  const lowFreqWavelen = f(s.originalMaxPositions / s.lowFreqFactor);
  const highFreqWavelen = f(s.originalMaxPositions / s.highFreqFactor);
  const twoPi = f(2 * Math.PI);
  for (let i = 0; i < out.length; i++) {
    const inv = out[i]!;
    const wavelen = f(twoPi / inv);
    if (wavelen > lowFreqWavelen) out[i] = f(inv / factor);
    else if (wavelen >= highFreqWavelen) {
      const smooth = f(f(f(f(s.originalMaxPositions) / wavelen) - f(s.lowFreqFactor)) / f(s.highFreqFactor - s.lowFreqFactor));
      out[i] = f(f(f(f(1 - smooth) * inv) / factor) + f(smooth * inv));
    }
  }
  return out;
}
