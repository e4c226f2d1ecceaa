// Per-op cases (MatMul, reductions, shape, indexing, Pad, Range, DimValue) with symbolic dims,
// including a zero-length past P = 0 wherever a dim can vanish.

import type { OpName } from "../../../src/engine/ir/op-specs.ts";
import * as op from "../../../src/engine/ir/ops.ts";
import { quantizeBlockwise } from "../../../src/engine/quant/blockwise.ts";
import { type Case, ints, rngOf, uniform } from "./check.ts";

type ShapeOp = Exclude<
  OpName,
  keyof typeof import("./cases-elementwise.ts").ELEMENTWISE_CASES | keyof typeof import("./cases-fused.ts").FUSED_CASES
>;

const withP = [
  { B: 2, T: 3, P: 0 },
  { B: 1, T: 4, P: 2 },
  { B: 3, T: 1, P: 5 },
];

const reductions = (o: "sum" | "mean" | "max"): Case[] => [
  {
    name: `${o} over axes [-1], [0, 2] keepdims, all, none`,
    build: (g) => {
      const x = g.input("x", "float32", ["B", "T", 3]);
      g.output("last", op[o](x, -1));
      g.output("keep", op[o](x, [0, 2], true));
      g.output("all", op[o](x));
      g.output("none", op[o](x, []));
      g.output("sym_axis", op[o](x, 1));
    },
  },
  {
    name: `${o} float16 and int64`,
    build: (g) => {
      g.output("yh", op[o](g.input("h", "float16", ["B", "T"]), 1));
      if (o !== "mean") g.output("yi", op[o](g.input("i", "int64", ["B", "T"]), 0, true));
    },
  },
];

const ids = (n: number) => ints(0, n);

export const SHAPE_CASES: { [O in ShapeOp]: Case[] } = {
  MatMul: [
    {
      name: "MatMul (B,T,4)@(4,5), batched (B,2,T,4)@(B,2,4,T), broadcast (T,4)@(B,1,4,3)",
      build: (g) => {
        g.output("proj", op.matmul(g.input("x", "float32", ["B", "T", 4]), g.input("w", "float32", [4, 5])));
        const q = g.input("q", "float32", ["B", 2, "T", 4]);
        const k = g.input("k", "float32", ["B", 2, "T", 4]);
        g.output("scores", op.matmul(q, op.transposeLast(k)));
        g.output("bcast", op.matmul(g.input("a", "float32", ["T", 4]), g.input("b", "float32", ["B", 1, 4, 3])));
      },
    },
    {
      name: "MatMul float16 and zero-size inner/outer dims",
      build: (g) => {
        g.output("h", op.matmul(g.input("x", "float16", ["T", 8]), g.input("w", "float16", [8, 3])));
        // (T, P) @ (P, 2): P = 0 gives zeros
        g.output("z", op.matmul(g.input("s", "float32", ["T", "P"]), g.input("v", "float32", ["P", 2])));
      },
      bindings: withP,
    },
  ],
  MatMulNBits: [
    {
      // K = 40 over blocks of 16: a partial last block; 3 blocks, so int4 zero-point rows pad a nibble
      name: "MatMulNBits (B,T,40)@(40,6)ᵀ: int8/int4, symmetric/asymmetric, float32 accuracy",
      build: (g) => {
        const x = g.input("x", "float32", ["B", "T", 40]);
        const w = Float32Array.from(uniform(-0.5, 0.5)(6 * 40, rngOf(7)));
        for (const bits of [8, 4] as const)
          for (const symmetric of [true, false])
            g.output(
              `y${bits}${symmetric ? "s" : "a"}`,
              op.matmulNBits(x, quantizeBlockwise(w, 6, 40, { bits, blockSize: 16, symmetric }), "w"),
            );
      },
    },
    {
      // accuracy level 4 rounds the activations to int8 per block: close, not exact
      name: "MatMulNBits int8 with int8 activations (accuracy level 4), rank-2 input",
      build: (g) => {
        const w = Float32Array.from(uniform(-0.5, 0.5)(5 * 64, rngOf(8)));
        const q = quantizeBlockwise(w, 5, 64, { bits: 8, blockSize: 32, symmetric: true });
        g.output("y", op.matmulNBits(g.input("x", "float32", ["T", 64]), q, "w", 4));
      },
      tol: { rtol: 0.03, atol: 0.03 },
    },
  ],
  ReduceSum: reductions("sum"),
  ReduceMean: reductions("mean"),
  ReduceMax: reductions("max"),
  Reshape: [
    {
      name: "Reshape merging, splitting and zero-size",
      build: (g) => {
        const x = g.input("x", "float32", ["B", "T", 6]);
        g.output("flat", op.reshape(x, ["B*T", 6]));
        g.output("split", op.reshape(x, ["B", "T", 2, 3]));
        g.output("merge", op.reshape(x, ["B", "6*T"]));
        const past = g.input("past", "float32", ["B", "P", 2]);
        g.output("past_flat", op.reshape(past, ["B*P", 2])); // P = 0: a real zero, not "copy dim"
        g.output("past_split", op.reshape(past, ["B", "P", 1, 2]));
      },
      bindings: withP,
    },
  ],
  Transpose: [
    {
      name: "Transpose rank 3 and 4",
      build: (g) => {
        g.output("t3", op.transpose(g.input("x", "float32", ["B", "T", 3]), [2, 0, 1]));
        g.output("t4", op.transpose(g.input("y", "int64", ["B", "T", 2, 3]), [0, 2, 1, 3]));
      },
    },
  ],
  Slice: [
    {
      name: "Slice numeric, negative, open-ended and clamped",
      build: (g) => {
        const x = g.input("x", "float32", ["B", "T", 8]);
        g.output("a", op.slice(x, 2, 1, 4));
        g.output("b", op.slice(x, -1, -3));
        g.output("c", op.slice(x, 2, 2, -1));
        g.output("d", op.slice(x, 2, -100, 100)); // clamps like ONNX
        g.output("e", op.slice(x, 1, 0, 1));
        g.output("f", op.slice(x, 1, -1));
      },
    },
    {
      name: "Slice with symbolic bounds (P = 0 included)",
      build: (g) => {
        const past = g.input("past", "float32", ["B", "P", 2]);
        const cur = g.input("cur", "float32", ["B", "T", 2]);
        const all = op.concat([past, cur], 1); // (B, P+T, 2)
        g.output("new", op.slice(all, 1, "P")); // (B, T, 2)
        g.output("old", op.slice(all, 1, 0, "P")); // (B, P, 2)
        g.output("last", op.slice(all, 1, -1)); // (B, 1, 2)
      },
      bindings: withP,
    },
  ],
  Concat: [
    {
      name: "Concat with a zero-length past",
      build: (g) => {
        const past = g.input("past", "float32", ["B", "P", 3]);
        const cur = g.input("cur", "float32", ["B", "T", 3]);
        g.output("kv", op.concat([past, cur, cur], 1));
        g.output("feat", op.concat([cur, op.slice(cur, 2, 0, 1)], -1));
      },
      bindings: withP,
    },
  ],
  Gather: [
    {
      name: "Gather embedding rows (int64, int32, negative ids) and along axis 1",
      build: (g) => {
        const table = g.input("table", "float32", [10, 4]);
        g.output("emb", op.gather(table, g.input("ids", "int64", ["B", "T"])));
        g.output("emb32", op.gather(table, g.input("ids32", "int32", ["T"])));
        g.output("cols", op.gather(g.input("x", "float32", ["B", 5]), g.input("c", "int64", ["T"]), 1));
      },
      data: { ids: ints(-10, 10), ids32: ids(10), c: ids(5) },
    },
  ],
  GatherElements: [
    {
      name: "GatherElements picking one logit per row",
      build: (g) => {
        const logits = g.input("logits", "float32", ["T", 7]);
        g.output("picked", op.gatherElements(logits, g.input("lab", "int64", ["T", 1]), 1));
        g.output("picked32", op.gatherElements(logits, g.input("lab32", "int32", ["T", 2]), 1));
      },
      data: { lab: ids(7), lab32: ids(7) },
    },
  ],
  ScatterElementsAdd: [
    {
      name: "ScatterElementsAdd with repeated indices",
      build: (g) => {
        const x = g.input("x", "float32", ["T", 5]);
        g.output("y", op.scatterElementsAdd(x, g.input("i", "int64", ["T", 6]), g.input("u", "float32", ["T", 6]), 1));
        g.output("y32", op.scatterElementsAdd(x, g.input("j", "int32", ["T", 2]), g.input("v", "float32", ["T", 2]), 1));
      },
      data: { i: ids(5), j: ids(5) },
    },
  ],
  ScatterNDAdd: [
    {
      name: "ScatterNDAdd rows into a table (embedding gradient) with repeats",
      build: (g) => {
        const table = g.input("table", "float32", [6, 3]);
        g.output("y", op.scatterNDAdd(table, g.input("i", "int64", ["B", "T", 1]), g.input("u", "float32", ["B", "T", 3])));
        g.output("y32", op.scatterNDAdd(table, g.input("j", "int32", ["T", 2]), g.input("v", "float32", ["T"])));
      },
      data: { i: ids(6), j: ids(3) },
    },
  ],
  Expand: [
    {
      name: "Expand to symbolic and zero-size shapes",
      build: (g) => {
        const row = g.input("row", "float32", [1, 3]);
        g.input("sizes", "bool", ["B", "T", "P"]); // only declares the symbols
        g.output("bt", op.expand(row, ["B", "T", 3]));
        g.output("p", op.expand(row, ["P", 3]));
        g.output("zeros", op.zeros(row, ["B", "P+T"]));
      },
      bindings: withP,
    },
  ],
  Squeeze: [
    {
      name: "Squeeze one and several axes",
      build: (g) => {
        const x = g.input("x", "float32", ["B", 1, "T", 1]);
        g.output("a", op.squeeze(x, [1]));
        g.output("b", op.squeeze(x, [1, -1]));
      },
    },
  ],
  Unsqueeze: [
    {
      name: "Unsqueeze front, back and negative",
      build: (g) => {
        const x = g.input("x", "int64", ["B", "T"]);
        g.output("a", op.unsqueeze(x, [0]));
        g.output("b", op.unsqueeze(x, [1, -1]));
      },
    },
  ],
  Pad: [
    {
      name: "Pad with static and symbolic pads (P = 0 included)",
      build: (g) => {
        const x = g.input("x", "float32", ["B", "T", 3]);
        g.output("static", op.pad(x, [0, 1, 0, 0, 2, 1]));
        g.output("left_p", op.pad(x, [0, "P", 0, 0, 0, 0]));
        const past = g.input("past", "int64", ["B", "P"]);
        g.output("grow", op.pad(past, [0, 0, 0, "T"]));
      },
      bindings: withP,
    },
  ],
  Range: [
    {
      name: "Range static, symbolic, zero-length, every dtype",
      build: (g) => {
        const x = g.input("x", "float32", ["P", "T"]);
        g.output("static", op.range(x, 5));
        g.output("t", op.range(x, "T"));
        g.output("p", op.range(x, "P")); // P = 0: empty
        g.output("pt_f32", op.range(x, "P+T", "float32"));
        g.output("pt_i32", op.range(x, "P+T", "int32"));
        g.output("pt_f16", op.range(x, "2*T+P", "float16"));
      },
      bindings: withP,
    },
  ],
  DimValue: [
    {
      name: "DimValue of symbols and polynomials",
      build: (g) => {
        const x = g.input("x", "float32", ["B", "T", "P"]);
        g.output("t", op.dimValue(x, "T"));
        g.output("bt", op.dimValue(x, "B*T"));
        g.output("poly", op.dimValue(x, "3*B*T+P-1+T*T"));
        g.output("static", op.dimValue(x, 7));
      },
      bindings: [
        { B: 2, T: 3, P: 1 },
        { B: 1, T: 4, P: 2 },
      ],
    },
  ],
};
