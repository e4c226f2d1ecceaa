// Composite ops built from primitives (some just name a fused primitive), so autodiff needs no rules of their own.

import type { Dim } from "./dim.ts";
import type { Tensor } from "./graph.ts";
import * as op from "./ops.ts";

/**
 * softmax over `axis`: the Softmax primitive, whose gradient reads only its output (as a composite of
 * exp, sum and div, the backward kept the scores, their exps and the sums alive as well)
 */
export const softmax = (x: Tensor, axis = -1): Tensor => op.softmax(x, axis);

/** log-softmax over `axis`: the LogSoftmax primitive (its gradient reads only its output) */
export const logSoftmax = (x: Tensor, axis = -1): Tensor => op.logSoftmax(x, axis);

/** RMS norm over the last axis: x / sqrt(mean(x²) + eps) * weight. x: (…, C), weight: (C) */
export function rmsNorm(x: Tensor, weight: Tensor | null, eps: number): Tensor {
  const ms = op.mean(op.mul(x, x), -1, true);
  const y = op.mul(x, op.reciprocal(op.sqrt(op.add(ms, eps))));
  return weight ? op.mul(y, weight) : y;
}

/** Layer norm over the last axis. x: (…, C), weight/bias: (C) */
export function layerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number): Tensor {
  const mu = op.mean(x, -1, true);
  const xc = op.sub(x, mu);
  const v = op.mean(op.mul(xc, xc), -1, true);
  let y = op.mul(xc, op.reciprocal(op.sqrt(op.add(v, eps))));
  if (weight) y = op.mul(y, weight);
  if (bias) y = op.add(y, bias);
  return y;
}

export const silu = (x: Tensor): Tensor => op.mul(x, op.sigmoid(x));

/** GELU, exact form: x/2 · (1 + erf(x/√2)) */
export const gelu = (x: Tensor): Tensor => op.mul(op.mul(x, 0.5), op.add(op.erf(op.mul(x, Math.SQRT1_2)), 1));

/** GELU, tanh approximation (GPT-2's gelu_new): x/2 · (1 + tanh(√(2/π)(x + 0.044715x³))) */
export function geluTanh(x: Tensor): Tensor {
  const inner = op.mul(op.add(x, op.mul(op.mul(op.mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
  return op.mul(op.mul(x, 0.5), op.add(op.tanh(inner), 1));
}

/** x @ w (+ b). x: (…, in), w: (in, out), b: (out) */
export function linear(x: Tensor, w: Tensor, b: Tensor | null = null): Tensor {
  const y = op.matmul(x, w);
  return b ? op.add(y, b) : y;
}

/**
 * Token-level cross-entropy with an ignore index.
 * logits: (N, V) float, labels: (N) int; returns per-token losses (N), zero where ignored, and the
 * count of counted tokens as a float scalar so callers can average as they need.
 */
export function crossEntropyTokens(logits: Tensor, labels: Tensor, ignoreIndex = -100): { losses: Tensor; count: Tensor } {
  // the fused primitive's backward recomputes softmax from the logits: no (N, V) log-probabilities kept
  const losses = op.softmaxCrossEntropy(logits, labels, ignoreIndex); // (N)
  const keepF = op.cast(op.not(op.equal(labels, ignoreIndex)), logits.dtype);
  return { losses, count: op.sum(keepF) };
}

/** Mean cross-entropy over non-ignored tokens (PyTorch's reduction="mean"). */
export function crossEntropy(logits: Tensor, labels: Tensor, ignoreIndex = -100): Tensor {
  const { losses, count } = crossEntropyTokens(logits, labels, ignoreIndex);
  return op.div(op.sum(losses), op.maximum(count, 1));
}

/**
 * Causal additive mask for T new positions after P cached ones: (T, P+T), 0 where key j ≤ P + i,
 * `negative` elsewhere. `like` only names the graph.
 */
export function causalMask(like: Tensor, T: Dim, P: Dim = 0, negative = -1e9, dtype: "float32" | "float16" = "float32"): Tensor {
  const noPast = typeof P === "number" && P === 0;
  const q = op.unsqueeze(op.range(like, T, "int64"), [1]); // (T, 1): query i sits at absolute position P + i
  const qAbs = noPast ? q : op.add(q, op.dimValue(like, P));
  const k = op.unsqueeze(op.range(like, noPast ? T : `${P}+${T}`, "int64"), [0]); // (1, P+T)
  return additiveMask(op.not(op.greater(k, qAbs)), dtype, negative);
}

/** 0 where `allowed`, `negative` where not. */
export function additiveMask(allowed: Tensor, dtype: "float32" | "float16", negative = -1e9): Tensor {
  return op.where(allowed, op.zeros(allowed, [...allowed.shape], dtype), negative);
}
