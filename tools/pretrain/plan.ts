// What `npm run pretrain-base` trains: the model's shape (a small Llama: GQA, RMSNorm, SwiGLU, RoPE, tied
// embeddings) and the run's settings. The numbers were chosen from step times measured on the 2-core
// machine (see README.md); change them here and the whole run follows.

import { type ModelConfig, parseHfConfig } from "../../src/models/index.ts";

export interface ModelShape {
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  intermediateSize: number;
  /** context length trained on (and max_position_embeddings) */
  context: number;
  ropeTheta: number;
}

export interface RunSettings {
  seed: number;
  /** optimizer steps */
  steps: number;
  /** sequences of `context` tokens per step */
  batchSize: number;
  peakLr: number;
  warmupSteps: number;
  /** AdamW decoupled decay, matrices only (norm weights are not decayed) */
  weightDecay: number;
  beta1: number;
  beta2: number;
  gradClip: number;
  /** held-out loss on `evalBatches` batches every this many steps */
  evalEvery: number;
  evalBatches: number;
  checkpointEvery: number;
  /** onnxruntime intra-op threads */
  threads: number;
}

export const BASE_SHAPE: ModelShape = {
  hiddenSize: 256,
  numLayers: 6,
  numHeads: 8,
  numKvHeads: 4,
  intermediateSize: 688,
  context: 256,
  ropeTheta: 10000,
};

export const BASE_RUN: RunSettings = {
  seed: 1234,
  steps: 900,
  batchSize: 8,
  peakLr: 2e-3,
  warmupSteps: 80,
  weightDecay: 0.1,
  beta1: 0.9,
  beta2: 0.95,
  gradClip: 1,
  evalEvery: 100,
  evalBatches: 8,
  checkpointEvery: 100,
  threads: 2,
};

export const BOS_ID = 1;
export const EOS_ID = 2;

/** The Hugging Face config.json of a model with this shape and vocabulary. */
export function hfConfigJson(shape: ModelShape, vocabSize: number): Record<string, unknown> {
  return {
    architectures: ["LlamaForCausalLM"],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: BOS_ID,
    eos_token_id: EOS_ID,
    head_dim: shape.hiddenSize / shape.numHeads,
    hidden_act: "silu",
    hidden_size: shape.hiddenSize,
    initializer_range: 0.02,
    intermediate_size: shape.intermediateSize,
    max_position_embeddings: shape.context,
    mlp_bias: false,
    model_type: "llama",
    num_attention_heads: shape.numHeads,
    num_hidden_layers: shape.numLayers,
    num_key_value_heads: shape.numKvHeads,
    pretraining_tp: 1,
    rms_norm_eps: 1e-5,
    rope_scaling: null,
    rope_theta: shape.ropeTheta,
    tie_word_embeddings: true,
    torch_dtype: "float16",
    use_cache: true,
    vocab_size: vocabSize,
  };
}

export function modelConfig(shape: ModelShape, vocabSize: number): ModelConfig {
  return parseHfConfig(hfConfigJson(shape, vocabSize), "tools/pretrain/plan.ts");
}
