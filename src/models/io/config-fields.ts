// Every config.json field of the families Sprig builds, and what Sprig does with it: the maths it sets is
// honoured and pinned by a PyTorch golden (test/fixtures/golden/<model>.json), values Sprig cannot compute
// as transformers does are refused by parseHfConfig, and fields without effect on the computed function
// say why. test/models/io/config-fields.test.ts holds the parser and the fixtures' configs to this table.

import type { ModelFamily } from "./hf-config.ts";

export interface FieldRule {
  /** fixture models whose goldens pin the values Sprig computes with; empty when the field sets no maths */
  golden: readonly string[];
  /** the values parseHfConfig refuses, with one it must refuse */
  refused?: { when: string; example: unknown };
  /** why the field does not change what the model computes (fields with no golden) */
  inert?: string;
}

const ALL_LLAMA = ["tiny-llama", "tiny-llama3", "tiny-qwen2", "tiny-mistral", "tiny-mistral-window", "tiny-llama-bias"];
const shape = (golden: readonly string[]): FieldRule => ({ golden });
const inert = (why: string): FieldRule => ({ golden: [], inert: why });

const DROPOUT = "dropout acts only in training; Sprig fine-tunes with the base model's dropout off (LoRA has its own lora_dropout)";
const TOKEN_IDS = "token ids for tokenizing and stopping generation, not for the forward pass";

/** Fields every transformers config.json may carry: bookkeeping, nothing the forward pass reads. */
const COMMON: Record<string, FieldRule> = {
  model_type: inert("selects the family (the rules below)"),
  architectures: inert("names the transformers class; model_type selects the builder"),
  transformers_version: inert("bookkeeping"),
  _name_or_path: inert("bookkeeping"),
  initializer_range: inert("initialisation of new weights; Sprig loads trained ones (adapters have their own init)"),
  use_cache: inert("a transformers runtime switch; Sprig's serving always caches"),
  torch_dtype: shape(["tiny-llama-bf16", "tiny-llama-f16-sharded"]),
  dtype: shape(["tiny-llama-bf16", "tiny-llama-f16-sharded"]),
  bos_token_id: inert(TOKEN_IDS),
  eos_token_id: inert(TOKEN_IDS),
  pad_token_id: inert(TOKEN_IDS),
  vocab_size: shape([...ALL_LLAMA, "tiny-gpt2"]),
};

const LLAMA: Record<string, FieldRule> = {
  ...COMMON,
  hidden_size: shape(ALL_LLAMA),
  intermediate_size: shape(ALL_LLAMA),
  num_hidden_layers: shape(ALL_LLAMA),
  num_attention_heads: shape(ALL_LLAMA),
  num_key_value_heads: shape(ALL_LLAMA),
  head_dim: shape(["tiny-llama3", "tiny-mistral"]),
  max_position_embeddings: shape(["tiny-llama3"]), // the llama3 rope's original_max_position_embeddings defaults to it
  rms_norm_eps: shape(ALL_LLAMA),
  hidden_act: {
    golden: ["tiny-llama", "tiny-llama-bias"],
    refused: { when: "an activation outside silu/swish, gelu, gelu_new/gelu_pytorch_tanh/gelu_fast, relu", example: "quick_gelu" },
  },
  rope_theta: shape(ALL_LLAMA),
  rope_scaling: { golden: ["tiny-llama3"], refused: { when: "a rope type other than default and llama3", example: { rope_type: "yarn", factor: 4 } } },
  // transformers v5's spelling of rope_theta + rope_scaling, read by the same code
  rope_parameters: { golden: ["tiny-llama3"], refused: { when: "a rope type other than default and llama3", example: { rope_type: "dynamic", factor: 2 } } },
  partial_rotary_factor: { golden: ALL_LLAMA, refused: { when: "anything but 1 (rotating part of each head)", example: 0.5 } },
  tie_word_embeddings: shape(["tiny-llama", "tiny-llama3", "tiny-qwen2"]),
  attention_dropout: inert(DROPOUT),
  pretraining_tp: inert("transformers 4.57 no longer reads it; the tensor-parallel slicing it selected computed the same function"),
};

/** The rules per family (transformers 4.57's config classes: LlamaConfig, MistralConfig, Qwen2Config, GPT2Config). */
export const CONFIG_FIELDS: Record<ModelFamily, Record<string, FieldRule>> = {
  llama: {
    ...LLAMA,
    attention_bias: shape(["tiny-llama", "tiny-llama-bias"]),
    mlp_bias: shape(["tiny-llama", "tiny-llama-bias"]),
    sliding_window: inert("not a LlamaConfig field: transformers' Llama attention has no window"),
    use_sliding_window: inert("not a LlamaConfig field"),
    layer_types: inert("not a LlamaConfig field"),
  },
  mistral: {
    ...LLAMA,
    attention_bias: inert("not a MistralConfig field: Mistral projections have no biases"),
    mlp_bias: inert("not a MistralConfig field"),
    sliding_window: shape(["tiny-mistral-window", "tiny-mistral"]),
    use_sliding_window: inert("not a MistralConfig field: sliding_window alone sets the window"),
    layer_types: inert("MistralForCausalLM ignores it (transformers v5 warns and windows every layer)"),
  },
  qwen2: {
    ...LLAMA,
    attention_bias: inert("not a Qwen2Config field: Qwen2 always has q/k/v biases (pinned by tiny-qwen2)"),
    mlp_bias: inert("not a Qwen2Config field"),
    use_sliding_window: {
      golden: ["tiny-qwen2"],
      refused: { when: "true: transformers windows only the layers from max_window_layers on, Sprig windows all or none", example: true },
    },
    sliding_window: inert("read only with use_sliding_window (refused when true)"),
    max_window_layers: inert("read only with use_sliding_window (refused when true)"),
    layer_types: inert("windows a layer only with use_sliding_window (refused when true)"),
  },
  gpt2: {
    ...COMMON,
    n_embd: shape(["tiny-gpt2"]),
    n_layer: shape(["tiny-gpt2"]),
    n_head: shape(["tiny-gpt2"]),
    n_positions: shape(["tiny-gpt2"]),
    n_inner: shape(["tiny-gpt2"]),
    n_ctx: inert("legacy duplicate of n_positions, unread by transformers 4.57"),
    layer_norm_epsilon: shape(["tiny-gpt2"]),
    activation_function: { golden: ["tiny-gpt2"], refused: { when: "an activation outside the supported ones", example: "quick_gelu" } },
    scale_attn_weights: { golden: ["tiny-gpt2"], refused: { when: "false (unscaled attention scores)", example: false } },
    scale_attn_by_inverse_layer_idx: { golden: ["tiny-gpt2"], refused: { when: "true (scores divided by layer index + 1)", example: true } },
    reorder_and_upcast_attn: inert("only moves transformers' eager attention to float32, which Sprig computes in anyway"),
    add_cross_attention: { golden: ["tiny-gpt2"], refused: { when: "true (encoder cross-attention blocks)", example: true } },
    tie_word_embeddings: shape(["tiny-gpt2"]),
    resid_pdrop: inert(DROPOUT),
    embd_pdrop: inert(DROPOUT),
    attn_pdrop: inert(DROPOUT),
    summary_type: inert("GPT2DoubleHeadsModel's classification head, not the causal LM"),
    summary_use_proj: inert("GPT2DoubleHeadsModel's classification head"),
    summary_activation: inert("GPT2DoubleHeadsModel's classification head"),
    summary_proj_to_labels: inert("GPT2DoubleHeadsModel's classification head"),
    summary_first_dropout: inert("GPT2DoubleHeadsModel's classification head"),
    task_specific_params: inert("generation presets of the original checkpoint"),
  },
};
