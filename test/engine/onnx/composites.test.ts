// Every composite (and the ops.ts helpers built from several primitives): onnxruntime vs reference.
// Keyed by the composites module's exports, so a new composite without a case fails to type-check.

import { describe, it } from "node:test";
import * as nn from "../../../src/engine/ir/composites.ts";
import * as op from "../../../src/engine/ir/ops.ts";
import { type Case, checkCase, ints, uniform } from "./check.ts";

const withP = [
  { B: 2, T: 3, P: 0 },
  { B: 1, T: 4, P: 2 },
  { B: 2, T: 1, P: 6 },
];

const CASES: { [K in keyof typeof nn]: Case[] } = {
  softmax: [
    {
      name: "softmax over the last and a middle axis, large logits",
      build: (g) => {
        const x = g.input("x", "float32", ["B", "T", 5]);
        g.output("last", nn.softmax(x));
        g.output("mid", nn.softmax(x, 1));
        g.output("half", nn.softmax(g.input("h", "float16", ["T", 5])));
      },
      data: { x: uniform(-50, 50) },
    },
  ],
  logSoftmax: [
    {
      name: "logSoftmax",
      build: (g) => g.output("y", nn.logSoftmax(g.input("x", "float32", ["B", "T", 7]))),
      data: { x: uniform(-30, 30) },
    },
  ],
  rmsNorm: [
    {
      name: "rmsNorm with and without weight",
      build: (g) => {
        const x = g.input("x", "float32", ["B", "T", 6]);
        g.output("weighted", nn.rmsNorm(x, g.input("w", "float32", [6]), 1e-5));
        g.output("plain", nn.rmsNorm(x, null, 1e-6));
      },
    },
  ],
  layerNorm: [
    {
      name: "layerNorm with weight and bias, and bare",
      build: (g) => {
        const x = g.input("x", "float32", ["B", "T", 6]);
        g.output("wb", nn.layerNorm(x, g.input("w", "float32", [6]), g.input("b", "float32", [6]), 1e-5));
        g.output("plain", nn.layerNorm(x, null, null, 1e-5));
      },
    },
  ],
  silu: [{ name: "silu", build: (g) => g.output("y", nn.silu(g.input("x", "float32", ["B", "T"]))), data: { x: uniform(-8, 8) } }],
  gelu: [{ name: "gelu (erf)", build: (g) => g.output("y", nn.gelu(g.input("x", "float32", ["B", "T"]))), data: { x: uniform(-5, 5) } }],
  geluTanh: [
    { name: "geluTanh", build: (g) => g.output("y", nn.geluTanh(g.input("x", "float32", ["B", "T"]))), data: { x: uniform(-5, 5) } },
  ],
  linear: [
    {
      name: "linear with and without bias",
      build: (g) => {
        const x = g.input("x", "float32", ["B", "T", 4]);
        const w = g.input("w", "float32", [4, 3]);
        g.output("b", nn.linear(x, w, g.input("bias", "float32", [3])));
        g.output("nob", nn.linear(x, w));
      },
    },
  ],
  crossEntropyTokens: [
    {
      name: "crossEntropyTokens with ignored labels",
      build: (g) => {
        const { losses, count } = nn.crossEntropyTokens(g.input("logits", "float32", ["T", 9]), g.input("labels", "int64", ["T"]));
        g.output("losses", losses);
        g.output("count", count);
      },
      // -100 is the ignore index; make it frequent
      data: { labels: (n, r) => ints(-1, 9)(n, r).map((v) => (v < 0 ? -100 : v)) },
      bindings: [{ T: 5 }, { T: 1 }, { T: 12 }],
    },
  ],
  crossEntropy: [
    {
      name: "crossEntropy mean, also over B*T flattened tokens",
      build: (g) => {
        const logits = g.input("logits", "float32", ["B", "T", 9]);
        const labels = g.input("labels", "int64", ["B", "T"]);
        g.output("loss", nn.crossEntropy(op.reshape(logits, ["B*T", 9]), op.reshape(labels, ["B*T"])));
      },
      data: { labels: (n, r) => ints(-1, 9)(n, r).map((v) => (v < 0 ? -100 : v)) },
    },
  ],
  causalMask: [
    {
      name: "causalMask without past, with a symbolic past (P = 0 included), float16",
      build: (g) => {
        const x = g.input("x", "float32", ["B", "T", "P"]);
        g.output("nopast", nn.causalMask(x, "T"));
        g.output("past", nn.causalMask(x, "T", "P"));
        g.output("static", nn.causalMask(x, 3, 2, -5));
        g.output("half", nn.causalMask(g.input("h", "float16", ["T"]), "T", "P", -1e4, "float16"));
      },
      bindings: withP,
    },
  ],
  additiveMask: [
    {
      name: "additiveMask in float32 and float16",
      build: (g) => {
        const ok = g.input("ok", "bool", ["B", "T"]);
        g.output("f", nn.additiveMask(ok, "float32"));
        g.output("h", nn.additiveMask(ok, "float16", -7));
      },
    },
  ],
};

describe("ONNX lowering vs reference, composites", () => {
  for (const [name, cases] of Object.entries(CASES)) {
    describe(name, () => {
      for (const c of cases) it(c.name, () => checkCase(c));
    });
  }
  it("zeros, zerosLike, transposeLast", () =>
    checkCase({
      name: "helpers",
      build: (g) => {
        const x = g.input("x", "float32", ["B", "T", 3]);
        g.output("z", op.add(op.zerosLike(x), op.zeros(x, ["T", 3])));
        g.output("tl", op.transposeLast(x));
      },
    }));
});
