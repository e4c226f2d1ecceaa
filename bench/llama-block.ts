// One Llama-style decoder block (RMS norm, GQA attention with RoPE and a causal mask, SwiGLU MLP)
// built from IR ops, with its weights as graph inputs since training feeds them.

import * as nn from "../src/engine/ir/composites.ts";
import type { Graph, Tensor } from "../src/engine/ir/graph.ts";
import * as op from "../src/engine/ir/ops.ts";

export interface BlockConfig {
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  eps: number;
  /** "expand": repeat K/V heads (expand + reshape); "grouped": fold the query group into the rows */
  gqa: "expand" | "grouped";
}

export const SMOLLM2_135M: BlockConfig = {
  hidden: 576,
  heads: 9,
  kvHeads: 3,
  headDim: 64,
  intermediate: 1536,
  eps: 1e-5,
  gqa: "expand",
};

export interface Block {
  x: Tensor;
  out: Tensor;
  weights: Record<string, Tensor>;
}

/** x·cos + rotate_half(x)·sin. x: (B, h, T, D), cos/sin: (T, D) */
function rope(x: Tensor, cos: Tensor, sin: Tensor, D: number): Tensor {
  const x1 = op.slice(x, -1, 0, D / 2);
  const x2 = op.slice(x, -1, D / 2);
  const rot = op.concat([op.neg(x2), x1], -1);
  return op.add(op.mul(x, cos), op.mul(rot, sin));
}

/** (B, T, h·D) → (B, h, T, D) */
const heads = (t: Tensor, h: number, D: number) => op.transpose(op.reshape(t, ["B", "T", h, D]), [0, 2, 1, 3]);

export function llamaBlock(g: Graph, c: BlockConfig): Block {
  const { hidden: C, heads: H, kvHeads: KV, headDim: D, intermediate: F } = c;
  const rep = H / KV;
  const w = {
    ln1: g.input("ln1", "float32", [C]),
    wq: g.input("wq", "float32", [C, H * D]),
    wk: g.input("wk", "float32", [C, KV * D]),
    wv: g.input("wv", "float32", [C, KV * D]),
    wo: g.input("wo", "float32", [H * D, C]),
    ln2: g.input("ln2", "float32", [C]),
    wg: g.input("wg", "float32", [C, F]),
    wu: g.input("wu", "float32", [C, F]),
    wd: g.input("wd", "float32", [F, C]),
  };
  const x = g.input("x", "float32", ["B", "T", C]);
  const cos = g.input("cos", "float32", ["T", D]);
  const sin = g.input("sin", "float32", ["T", D]);

  const h = nn.rmsNorm(x, w.ln1, c.eps); // (B, T, C)
  const q = rope(heads(op.matmul(h, w.wq), H, D), cos, sin, D); // (B, H, T, D)
  const k = rope(heads(op.matmul(h, w.wk), KV, D), cos, sin, D); // (B, KV, T, D)
  const v = heads(op.matmul(h, w.wv), KV, D); // (B, KV, T, D)
  const mask = nn.causalMask(x, "T"); // (T, T)
  let o: Tensor; // (B, H, T, D)
  if (c.gqa === "expand") {
    const repeat = (t: Tensor) => op.reshape(op.expand(op.unsqueeze(t, [2]), ["B", KV, rep, "T", D]), ["B", H, "T", D]);
    const s = op.add(op.mul(op.matmul(q, op.transposeLast(repeat(k))), 1 / Math.sqrt(D)), mask); // (B, H, T, T)
    o = op.matmul(nn.softmax(s), repeat(v));
  } else {
    // query heads kv·rep + r share K/V head kv: (B, KV, rep, T, D), no K/V copies
    const qg = op.reshape(q, ["B", KV, rep, "T", D]);
    const s = op.add(op.mul(op.matmul(qg, op.unsqueeze(op.transposeLast(k), [2])), 1 / Math.sqrt(D)), mask); // (B, KV, rep, T, T)
    o = op.reshape(op.matmul(nn.softmax(s), op.unsqueeze(v, [2])), ["B", H, "T", D]);
  }
  const attn = op.matmul(op.reshape(op.transpose(o, [0, 2, 1, 3]), ["B", "T", H * D]), w.wo); // (B, T, C)
  const x1 = op.add(x, attn);
  const h2 = nn.rmsNorm(x1, w.ln2, c.eps);
  const mlp = op.matmul(op.mul(nn.silu(op.matmul(h2, w.wg)), op.matmul(h2, w.wu)), w.wd); // (B, T, C)
  return { x, out: op.add(x1, mlp), weights: w };
}
