// Causal multi-head attention with grouped-query heads and an optional KV cache, shared by all families.
// The cache is fed time-major (P, B, KVH, D), the first P positions one contiguous prefix, or head-first
// (B, KVH, P, D), read in place without a copy; each step returns only the T new positions.

import { type Tensor, nn, op } from "../../engine/index.ts";

export interface AttentionCache {
  /** past keys/values. (P, B, KVH, D), or (B, KVH, P, D) when `headFirst` */
  pastKey: Tensor;
  pastValue: Tensor;
  /** additive mask over [past ‖ new] keys. (B, 1, 1, T, P+T) */
  mask: Tensor;
  headFirst?: boolean;
}

export interface AttentionResult {
  /** (B, T, H·D) */
  out: Tensor;
  /** this step's keys/values in the cache's layout. (T, B, KVH, D), or (B, KVH, T, D) when head-first */
  presentKey: Tensor;
  presentValue: Tensor;
}

/**
 * q: (B, T, H, D), k/v: (B, T, KVH, D). Query heads [j·G, (j+1)·G) share KV head j (HF's repeat_kv order),
 * so folding the group into the query axis lets K/V be used as they are, never repeated.
 * `mask` without a cache: additive (T, T) causal mask.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, scale: number, cache: AttentionCache | null, causal: Tensor | null): AttentionResult {
  const [B, T, H, D] = q.shape;
  const KVH = k.shape[2]!;
  const G = (H as number) / (KVH as number);
  if (cache?.headFirst) return headFirstCached(q, k, v, scale, cache);
  const kt = op.transpose(k, [1, 0, 2, 3]); // (T, B, KVH, D)
  const vt = op.transpose(v, [1, 0, 2, 3]);
  // the past is copied here each step; two score blocks (past, new) joined before the softmax would avoid
  // that, but ORT's batched MatMul runs slower on the fed past than on this concatenation (measured, B=16)
  const keys = cache ? op.concat([cache.pastKey, kt], 0) : kt; // (S, B, KVH, D)
  const values = cache ? op.concat([cache.pastValue, vt], 0) : vt;
  const S = keys.shape[0]!;

  // the scale goes on q for training graphs (q is smaller than the scores) and on the scores of cached
  // steps, where ORT folds a scalar Mul after a MatMul into the MatMul's alpha
  const qs = cache ? q : op.mul(q, scale);
  const qg = op.reshape(op.transpose(op.reshape(qs, [B!, T!, KVH, G, D!]), [0, 2, 3, 1, 4]), [B!, KVH, `${G}*${T}`, D!]); // (B, KVH, G·T, D)
  const kT = op.transpose(keys, [1, 2, 3, 0]); // (B, KVH, D, S)
  const vB = op.transpose(values, [1, 2, 0, 3]); // (B, KVH, S, D)
  const raw = op.matmul(qg, kT); // (B, KVH, G·T, S)
  const scores = op.reshape(cache ? op.mul(raw, scale) : raw, [B!, KVH, G, T!, S]); // (B, KVH, G, T, S)
  const masked = op.add(scores, cache ? cache.mask : causal!);
  const probs = op.reshape(nn.softmax(masked, -1), [B!, KVH, `${G}*${T}`, S]);
  const ctx = op.reshape(op.matmul(probs, vB), [B!, KVH, G, T!, D!]); // (B, KVH, G, T, D)
  const out = op.reshape(op.transpose(ctx, [0, 3, 1, 2, 4]), [B!, T!, `${H}*${D}`]); // (B, T, H·D)
  return { out, presentKey: kt, presentValue: vt };
}

/**
 * A cached step over a head-first past, read where it lies: scores against the past and against the T
 * new keys are two MatMuls (the past's transpose folds into the MatMul), joined before the softmax, and
 * the context is the sum of the two blocks' products, so the past is never concatenated or transposed.
 * The scale goes on q: one small Mul instead of one over the joined scores.
 * q: (B, T, H, D), k/v: (B, T, KVH, D), past: (B, KVH, P, D) → out (B, T, H·D), present (B, KVH, T, D)
 */
function headFirstCached(q: Tensor, k: Tensor, v: Tensor, scale: number, cache: AttentionCache): AttentionResult {
  const [B, T, H, D] = q.shape;
  const KVH = k.shape[2]!;
  const G = (H as number) / (KVH as number);
  const P = cache.pastKey.shape[2]!;
  const qs = op.mul(q, scale);
  const qg = op.reshape(op.transpose(op.reshape(qs, [B!, T!, KVH, G, D!]), [0, 2, 3, 1, 4]), [B!, KVH, `${G}*${T}`, D!]); // (B, KVH, G·T, D)
  const kh = op.transpose(k, [0, 2, 1, 3]); // (B, KVH, T, D)
  const vh = op.transpose(v, [0, 2, 1, 3]);
  const past = op.matmul(qg, op.transpose(cache.pastKey, [0, 1, 3, 2])); // (B, KVH, G·T, P)
  const fresh = op.matmul(qg, op.transpose(kh, [0, 1, 3, 2])); // (B, KVH, G·T, T)
  const S = `${P}+${T}`;
  const scores = op.reshape(op.concat([past, fresh], 3), [B!, KVH, G, T!, S]); // (B, KVH, G, T, S)
  const probs = op.reshape(nn.softmax(op.add(scores, cache.mask), -1), [B!, KVH, `${G}*${T}`, S]);
  const ctxPast = op.matmul(op.slice(probs, 3, 0, P), cache.pastValue); // (B, KVH, G·T, D)
  const ctxNew = op.matmul(op.slice(probs, 3, P), vh);
  const ctx = op.reshape(op.add(ctxPast, ctxNew), [B!, KVH, G, T!, D!]); // (B, KVH, G, T, D)
  const out = op.reshape(op.transpose(ctx, [0, 3, 1, 2, 4]), [B!, T!, `${H}*${D}`]); // (B, T, H·D)
  return { out, presentKey: kh, presentValue: vh };
}

/**
 * Additive mask for a cached step: key j of [past ‖ new] is visible to query i of row b when it is a
 * valid past slot (j < pastLen[b]) or a new token at or before i, and — with a sliding `window` — lies
 * fewer than `window` positions back (HF: a query sees itself and the window − 1 keys before it).
 * Slot j of the past holds position j; query i and new key j − P sit at pastLen[b] + i and pastLen[b] + j − P.
 * → (B, 1, 1, T, P+T)
 * pastLen: (B) int64
 */
export function cacheMask(pastLen: Tensor, T: string, P: string, window: number | null = null): Tensor {
  const S = `${P}+${T}`;
  const j = op.reshape(op.range(pastLen, S, "int64"), [1, 1, S]); // (1, 1, S)
  const i = op.reshape(op.range(pastLen, T, "int64"), [1, T, 1]); // (1, T, 1)
  const p = op.dimValue(pastLen, P);
  const inPast = op.less(j, p);
  const rowPast = op.reshape(pastLen, ["B", 1, 1]); // (B, 1, 1)
  const validPast = op.less(j, rowPast); // (B, 1, S)
  const causal = op.not(op.greater(op.sub(j, p), i)); // (1, T, S)
  let allowed = op.or(op.and(inPast, validPast), op.and(op.not(inPast), causal)); // (B, T, S)
  if (window !== null) {
    const keyPos = op.where(inPast, j, op.add(op.sub(j, p), rowPast)); // (B, 1, S)
    const queryPos = op.add(i, rowPast); // (B, T, 1)
    allowed = op.and(allowed, op.less(op.sub(queryPos, keyPos), window)); // (B, T, S)
  }
  return op.unsqueeze(nn.additiveMask(allowed, "float32"), [1, 2]);
}

/**
 * Additive causal mask without a cache, query i seeing keys j ≤ i — and with a sliding `window` only
 * those with i − j < window. like: any tensor of the graph → (1, 1, 1, T, T)
 */
export function fullMask(like: Tensor, T: string, window: number | null = null): Tensor {
  if (window === null) return op.reshape(nn.causalMask(like, T), [1, 1, 1, T, T]);
  const j = op.reshape(op.range(like, T, "int64"), [1, T]); // (1, T)
  const i = op.reshape(op.range(like, T, "int64"), [T, 1]); // (T, 1)
  const d = op.sub(i, j); // (T, T)
  const allowed = op.and(op.not(op.less(d, 0)), op.less(d, window));
  return op.reshape(nn.additiveMask(allowed, "float32"), [1, 1, 1, T, T]);
}

/**
 * RoPE (HF rotate-half convention): x·cos + rotate_half(x)·sin with rotate_half(x) = [−x₂, x₁], taken as
 * the halves swapped times a table whose first half carries the sign (`ropeTables`), so no Neg per call.
 * (A Gather swap is one node instead of three, but ORT's last-axis Gather is slow on prefill-sized x.)
 * x: (B, T, H, D), cos/sin: (B, T, 1, D)
 */
export function applyRope(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  const half = (x.shape[3] as number) / 2;
  const swapped = op.concat([op.slice(x, 3, half), op.slice(x, 3, 0, half)], 3);
  return op.add(op.mul(x, cos), op.mul(swapped, sin));
}

/**
 * cos/sin tables for positions, the sine's first half negated (see applyRope): the angles are [−θ, θ].
 * positions: (B, T) int64, invFreq: (D/2) → each (B, T, 1, D)
 */
export function ropeTables(positions: Tensor, invFreq: Float32Array): { cos: Tensor; sin: Tensor } {
  const g = positions.graph;
  const f = g.constant("float32", [invFreq.length], invFreq);
  const angles = op.mul(op.unsqueeze(op.cast(positions, "float32"), [2]), f); // (B, T, D/2)
  const full = op.unsqueeze(op.concat([op.neg(angles), angles], 2), [2]); // (B, T, 1, D)
  return { cos: op.cos(full), sin: op.sin(full) };
}
