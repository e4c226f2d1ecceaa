// Decoder-only causal LMs as graph builders: the llama family (llama, mistral, qwen2 — RMS norm, RoPE,
// GQA, gated MLP) and GPT-2 (layer norm, learned positions, fused c_attn, Conv1D weights stored [in, out]).
// One builder serves inference (KV cache in/out, last-position logits) and training (all logits); with a
// quantizing weight source the base projections are MatMulNBits over quantized weights (adapter hooks still
// wrap each base projection, so adapters apply per row in float32 as before).

import { Graph, type Tensor, nn, op } from "../../engine/index.ts";
import { type ModelConfig, ropeInverseFrequencies } from "../io/hf-config.ts";
import { type AttentionCache, applyRope, attention, cacheMask, fullMask, ropeTables } from "./attention.ts";
import { type ModelHooks, project } from "./hooks.ts";
import { layerNorm, rmsNorm } from "./norms.ts";
import type { WeightSource } from "./weight-source.ts";

export type CacheLayout = "time" | "head";

export interface CausalLMOptions {
  /**
   * with a cache: inputs past_key.L/past_value.L (P, B, KVH, D) and past_len (B); outputs present_key and
   * present_value, every layer's new K/V stacked (L, T, B, KVH, D): two outputs to bind per run, not 2·L
   */
  cache: boolean;
  /**
   * how past_key.L/past_value.L are fed and present_* returned: "time" (P, B, KVH, D) and (L, T, B, KVH, D),
   * the default, or "head" (B, KVH, P, D) and (L, B, KVH, T, D), the past read in place
   */
  cacheLayout?: CacheLayout;
  /** "last": logits (B, V) at last_index (B) per row and their logsumexp (B); "all": logits (B, T, V); "none": hidden (B, T, C) only */
  logits: "last" | "all" | "none";
  hooks?: ModelHooks;
  /**
   * without a cache: input segment_ids (B, T) int64; token i attends to earlier tokens j of segment 0 (a shared
   * prompt) or of its own segment, so several continuations of one prompt share a row (positions restart per
   * continuation in position_ids). Without it: a plain causal mask.
   */
  segments?: boolean;
}

export interface CausalLM {
  graph: Graph;
  /** (B, T, V), (B, V) or null */
  logits: Tensor | null;
  /** final-norm hidden states. (B, T, C) */
  hidden: Tensor;
  /** input_ids (B, T) int64 */
  inputIds: Tensor;
}

/**
 * Where a family keeps its weights and which block wires them: the checkpoint layout, as data. What the
 * maths is (norm kind, position scheme, window, biases) comes from the config, not from the family.
 */
interface Layout {
  /** token embedding (V, C) */
  embedding: string;
  /** learned absolute position embedding (maxPositions, C); null: the layout has none */
  positions: string | null;
  /** the final norm's module path (".weight", ".bias" appended) */
  finalNorm: string;
  block: typeof llamaBlock;
}

const LLAMA_LAYOUT: Layout = { embedding: "model.embed_tokens.weight", positions: null, finalNorm: "model.norm", block: llamaBlock };
const LAYOUTS: Record<ModelConfig["family"], Layout> = {
  llama: LLAMA_LAYOUT,
  mistral: LLAMA_LAYOUT,
  qwen2: LLAMA_LAYOUT,
  gpt2: { embedding: "transformer.wte.weight", positions: "transformer.wpe.weight", finalNorm: "transformer.ln_f", block: gpt2Block },
};

/** The checkpoint key of the token embedding. */
export const embeddingName = (cfg: ModelConfig): string => LAYOUTS[cfg.family].embedding;

/** The checkpoint key of the LM head's weight (V, C): the embedding when tied, else lm_head. */
const lmHeadName = (cfg: ModelConfig): string => (cfg.tieWordEmbeddings ? embeddingName(cfg) : "lm_head.weight");

/** The LM head's weight (V, C): the embedding when tied, else lm_head. */
export function lmHeadWeight(cfg: ModelConfig, w: WeightSource): Tensor {
  return w.get(lmHeadName(cfg));
}

/** x (…, K) times the weights `names` stacked along their outputs (see LinearQuantizer.matrix). → (…, Σ out) */
function quantizedProduct(w: WeightSource, names: readonly string[], x: Tensor, transposed = false): Tensor {
  const q = w.quantized!;
  return op.matmulNBits(x, q.matrix(names, transposed), names.join("+"), q.settings.accuracyLevel);
}

/** The config's norm over the last axis: RMS (weight) or layer norm (weight and bias). module: its path */
function norm(cfg: ModelConfig, w: WeightSource, module: string, x: Tensor): Tensor {
  return cfg.normKind === "rms"
    ? rmsNorm(x, w.get(`${module}.weight`), cfg.normEps)
    : layerNorm(x, w.get(`${module}.weight`), w.get(`${module}.bias`), cfg.normEps);
}

export function buildCausalLM(graph: Graph, cfg: ModelConfig, w: WeightSource, opts: CausalLMOptions): CausalLM {
  const ids = graph.input("input_ids", "int64", ["B", "T"]);
  const positions = graph.input("position_ids", "int64", ["B", "T"]);
  const layout = LAYOUTS[cfg.family];
  let h = op.gather(w.get(layout.embedding), ids, 0); // (B, T, C)
  if (cfg.positionEmbedding === "learned") {
    if (layout.positions === null) throw new Error(`buildCausalLM: a ${cfg.family} checkpoint has no learned position embedding`);
    h = op.add(h, op.gather(w.get(layout.positions), positions, 0));
  }

  let mask: Tensor | null = null;
  let causal: Tensor | null = null;
  if (opts.cache) {
    const pastLen = graph.input("past_len", "int64", ["B"]);
    mask = cacheMask(pastLen, "T", "P", cfg.slidingWindow);
  } else if (opts.segments) {
    // a window measures distances within one sequence; a packed row's choices sit side by side (callers do not pack then)
    if (cfg.slidingWindow !== null) throw new RangeError("packed segments cannot be combined with a sliding window");
    const seg = graph.input("segment_ids", "int64", ["B", "T"]);
    const i = op.unsqueeze(op.range(ids, "T", "int64"), [1]); // (T, 1)
    const j = op.unsqueeze(op.range(ids, "T", "int64"), [0]); // (1, T)
    const sj = op.unsqueeze(seg, [1]); // (B, 1, T)
    const same = op.or(op.equal(sj, 0), op.equal(sj, op.unsqueeze(seg, [2]))); // (B, T, T)
    causal = op.reshape(nn.additiveMask(op.and(op.not(op.greater(j, i)), same), "float32"), ["B", 1, 1, "T", "T"]);
  } else {
    causal = fullMask(ids, "T", cfg.slidingWindow);
  }
  const rope = cfg.positionEmbedding === "rope" ? ropeTables(positions, ropeInverseFrequencies(cfg)) : null;

  const presentKeys: Tensor[] = [];
  const presentValues: Tensor[] = [];
  for (let l = 0; l < cfg.numLayers; l++) {
    const headFirst = opts.cacheLayout === "head";
    const pastShape = headFirst ? ["B", cfg.numKvHeads, "P", cfg.headDim] : ["P", "B", cfg.numKvHeads, cfg.headDim];
    const cache: AttentionCache | null = opts.cache
      ? {
          pastKey: graph.input(`past_key.${l}`, "float32", pastShape),
          pastValue: graph.input(`past_value.${l}`, "float32", pastShape),
          mask: mask!,
          headFirst,
        }
      : null;
    const block = layout.block(cfg, w, opts.hooks, l, h, rope, cache, causal);
    h = block.h;
    if (opts.cache) {
      presentKeys.push(op.unsqueeze(block.presentKey, [0]));
      presentValues.push(op.unsqueeze(block.presentValue, [0]));
    }
  }
  if (opts.cache) {
    graph.output("present_key", op.concat(presentKeys, 0)); // (L, T, B, KVH, D), head-first (L, B, KVH, T, D)
    graph.output("present_value", op.concat(presentValues, 0));
  }

  const normed = (x: Tensor) => norm(cfg, w, layout.finalNorm, x);
  const lmHead = w.quantized?.settings.lmHead
    ? (x: Tensor) => quantizedProduct(w, [lmHeadName(cfg)], x)
    : (x: Tensor) => op.matmul(x, op.transpose(lmHeadWeight(cfg, w), [1, 0])); // weight (V, C)

  let logits: Tensor | null = null;
  const hidden = normed(h);
  if (opts.logits === "all") logits = lmHead(hidden);
  else if (opts.logits === "last") {
    const last = graph.input("last_index", "int64", ["B"]);
    const idx = op.expand(op.reshape(last, ["B", 1, 1]), ["B", 1, cfg.hiddenSize]);
    const picked = op.gatherElements(h, idx, 1); // (B, 1, C)
    logits = op.reshape(lmHead(normed(picked)), ["B", cfg.vocabSize]);
    // log Σ exp per row: samplers get log-probabilities without a pass over V in JS. → (B)
    const m = op.max(logits, -1, true); // (B, 1)
    graph.output("logsumexp", op.reshape(op.add(op.log(op.sum(op.exp(op.sub(logits, m)), -1, true)), m), ["B"]));
  }
  if (logits) graph.output("logits", logits);
  return { graph, logits, hidden, inputIds: ids };
}

/** RoPE on q or k when the config's positions are rotary. x: (B, T, heads, D) */
function rotate(x: Tensor, rope: { cos: Tensor; sin: Tensor } | null): Tensor {
  return rope ? applyRope(x, rope.cos, rope.sin) : x;
}

interface BlockOut {
  h: Tensor;
  presentKey: Tensor;
  presentValue: Tensor;
}

/** HF nn.Linear: y = x Wᵀ + b, weight (out, in) */
function hfLinear(w: WeightSource, name: string, bias: boolean) {
  const b = () => (bias ? w.get(`${name}.bias`) : null);
  if (w.quantized) return (x: Tensor) => withBias(quantizedProduct(w, [`${name}.weight`], x), b());
  return (x: Tensor) => nn.linear(x, op.transpose(w.get(`${name}.weight`), [1, 0]), b());
}

const withBias = (y: Tensor, b: Tensor | null): Tensor => (b ? op.add(y, b) : y);

/**
 * Bases of HF linears that read the same input x, sharing one MatMul: weights (and biases) concatenated,
 * which ORT folds into one initializer, and each module's base a column slice of the product. Fewer,
 * larger MatMuls stream the weights faster in decode steps. A call on another input (a hook may change
 * x) gets its own product. → base per module name
 */
function sharedLinears(w: WeightSource, prefix: string, x: Tensor, outs: Record<string, number>, bias: boolean) {
  const names = Object.keys(outs);
  let product: Tensor | null = null; // (B, T, Σ out)
  const biases = () => (bias ? op.concat(names.map((n) => w.get(`${prefix}.${n}.bias`)), 0) : null);
  const fused = () =>
    (product ??= w.quantized
      ? withBias(
          quantizedProduct(
            w,
            names.map((n) => `${prefix}.${n}.weight`),
            x,
          ),
          biases(),
        )
      : nn.linear(x, op.concat(names.map((n) => op.transpose(w.get(`${prefix}.${n}.weight`), [1, 0])), 1), biases()));
  const bases: Record<string, (x: Tensor) => Tensor> = {};
  let at = 0;
  for (const n of names) {
    const [from, to] = [at, (at += outs[n]!)];
    bases[n] = (input) => (input === x ? op.slice(fused(), 2, from, to) : hfLinear(w, `${prefix}.${n}`, bias)(input));
  }
  return bases;
}

/** GPT-2 Conv1D: y = x W + b, weight (in, out) */
function conv1d(w: WeightSource, name: string) {
  if (w.quantized) return (x: Tensor) => op.add(quantizedProduct(w, [`${name}.weight`], x, true), w.get(`${name}.bias`));
  return (x: Tensor) => nn.linear(x, w.get(`${name}.weight`), w.get(`${name}.bias`));
}

function activation(cfg: ModelConfig, x: Tensor): Tensor {
  switch (cfg.activation) {
    case "silu":
      return nn.silu(x);
    case "gelu":
      return nn.gelu(x);
    case "gelu_tanh":
      return nn.geluTanh(x);
    case "relu":
      return op.maximum(x, 0);
  }
}

function llamaBlock(
  cfg: ModelConfig,
  w: WeightSource,
  hooks: ModelHooks | undefined,
  l: number,
  h: Tensor,
  rope: { cos: Tensor; sin: Tensor } | null,
  cache: AttentionCache | null,
  causal: Tensor | null,
): BlockOut {
  const p = `model.layers.${l}`;
  // inference graphs (with a cache) share one MatMul for q|k|v and one for gate|up
  let shared: Record<string, (x: Tensor) => Tensor> = {};
  const proj = (module: string, x: Tensor, bias: boolean) =>
    project(hooks, { layer: l, module, path: `${p}.${module}`, x, base: shared[module] ?? hfLinear(w, `${p}.${module}`, bias) });
  const x = norm(cfg, w, `${p}.input_layernorm`, h); // (B, T, C)
  const kvWidth = cfg.numKvHeads * cfg.headDim;
  const qkv = { "self_attn.q_proj": cfg.numHeads * cfg.headDim, "self_attn.k_proj": kvWidth, "self_attn.v_proj": kvWidth };
  if (cache) shared = sharedLinears(w, p, x, qkv, cfg.attentionBias);
  const heads = (t: Tensor, n: number) => op.reshape(t, ["B", "T", n, cfg.headDim]);
  const q = rotate(heads(proj("self_attn.q_proj", x, cfg.attentionBias), cfg.numHeads), rope);
  const k = rotate(heads(proj("self_attn.k_proj", x, cfg.attentionBias), cfg.numKvHeads), rope);
  const v = heads(proj("self_attn.v_proj", x, cfg.attentionBias), cfg.numKvHeads);
  const att = attention(q, k, v, 1 / Math.sqrt(cfg.headDim), cache, causal);
  const h1 = op.add(h, proj("self_attn.o_proj", att.out, cfg.oBias));
  const x2 = norm(cfg, w, `${p}.post_attention_layernorm`, h1);
  const F = cfg.intermediateSize;
  if (cache) shared = sharedLinears(w, p, x2, { "mlp.gate_proj": F, "mlp.up_proj": F }, cfg.mlpBias);
  const gate = proj("mlp.gate_proj", x2, cfg.mlpBias); // (B, T, F)
  const up = proj("mlp.up_proj", x2, cfg.mlpBias);
  // SwiGLU as one primitive: its backward recomputes σ(gate) rather than keeping σ and silu alive
  const gated = cfg.activation === "silu" ? op.swiGlu(gate, up) : op.mul(activation(cfg, gate), up);
  const h2 = op.add(h1, proj("mlp.down_proj", gated, cfg.mlpBias));
  return { h: h2, presentKey: att.presentKey, presentValue: att.presentValue };
}

function gpt2Block(
  cfg: ModelConfig,
  w: WeightSource,
  hooks: ModelHooks | undefined,
  l: number,
  h: Tensor,
  rope: { cos: Tensor; sin: Tensor } | null,
  cache: AttentionCache | null,
  causal: Tensor | null,
): BlockOut {
  const p = `transformer.h.${l}`;
  const proj = (module: string, x: Tensor) => project(hooks, { layer: l, module, path: `${p}.${module}`, x, base: conv1d(w, `${p}.${module}`) });
  const C = cfg.hiddenSize;
  const x = norm(cfg, w, `${p}.ln_1`, h);
  const qkv = proj("attn.c_attn", x); // (B, T, 3C)
  const heads = (t: Tensor) => op.reshape(t, ["B", "T", cfg.numHeads, cfg.headDim]);
  const q = rotate(heads(op.slice(qkv, 2, 0, C)), rope);
  const k = rotate(heads(op.slice(qkv, 2, C, 2 * C)), rope);
  const v = heads(op.slice(qkv, 2, 2 * C));
  const att = attention(q, k, v, 1 / Math.sqrt(cfg.headDim), cache, causal);
  const h1 = op.add(h, proj("attn.c_proj", att.out));
  const x2 = norm(cfg, w, `${p}.ln_2`, h1);
  const h2 = op.add(h1, proj("mlp.c_proj", activation(cfg, proj("mlp.c_fc", x2))));
  return { h: h2, presentKey: att.presentKey, presentValue: att.presentValue };
}
