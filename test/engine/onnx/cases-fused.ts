// Per-op cases of the fused primitives (Softmax, LogSoftmax, SwiGlu, SoftmaxCrossEntropy): onnxruntime
// against the reference's direct float64 kernels, with large logits, middle axes and ignored labels.

import type { Case, Gen } from "./check.ts";
import { ints, uniform } from "./check.ts";
import * as op from "../../../src/engine/ir/ops.ts";

type FusedOp = "Softmax" | "LogSoftmax" | "SwiGlu" | "SoftmaxCrossEntropy";

const softmaxes = (f: typeof op.softmax): Case[] => [
  {
    name: "last and middle axis, large logits",
    build: (g) => {
      const x = g.input("x", "float32", ["B", "T", 5]);
      g.output("last", f(x));
      g.output("mid", f(x, 1));
      g.output("first", f(x, 0));
    },
    data: { x: uniform(-50, 50) },
  },
  { name: "float16", build: (g) => g.output("y", f(g.input("h", "float16", ["T", 5]))), data: { h: uniform(-8, 8) } },
];

/** labels in [-1, V) with -1 the ignore index here; -100 stays the default */
const withIgnored =
  (V: number): Gen =>
  (n, r) =>
    ints(0, V)(n, r).map((v, i) => (i % 3 === 1 ? -1 : v));

export const FUSED_CASES: { [O in FusedOp]: Case[] } = {
  Softmax: softmaxes(op.softmax),
  LogSoftmax: softmaxes(op.logSoftmax),
  SwiGlu: [
    {
      name: "(B, T, 6) float32 and float16",
      build: (g) => {
        g.output("y", op.swiGlu(g.input("g", "float32", ["B", "T", 6]), g.input("u", "float32", ["B", "T", 6])));
        g.output("yh", op.swiGlu(g.input("gh", "float16", ["T", 3]), g.input("uh", "float16", ["T", 3])));
      },
      data: { g: uniform(-12, 12), gh: uniform(-6, 6) },
    },
  ],
  SoftmaxCrossEntropy: [
    {
      name: "(N, V) int64 labels with ignored rows, (B, T, V) int32 labels, large logits",
      build: (g) => {
        g.output("rows", op.softmaxCrossEntropy(g.input("x", "float32", ["T", 7]), g.input("l", "int64", ["T"]), -1));
        g.output("bt", op.softmaxCrossEntropy(g.input("y", "float32", ["B", "T", 4]), g.input("m", "int32", ["B", "T"])));
      },
      data: { x: uniform(-40, 40), l: withIgnored(7), m: ints(0, 4) },
    },
    {
      name: "float16 logits",
      build: (g) => g.output("y", op.softmaxCrossEntropy(g.input("h", "float16", ["T", 5]), g.input("l", "int64", ["T"]))),
      data: { h: uniform(-6, 6), l: ints(0, 5) },
    },
  ],
};
