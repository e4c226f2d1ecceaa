// Forward and gradient of every differentiable primitive and composite op, one line each:
// autodiff vs float64 finite differences, onnxruntime vs the reference interpreter.

import { type Dim, type Graph, type Tensor, nn, op } from "../../../src/engine/index.ts";
import { ints, uniform } from "../onnx/check.ts";
import { gradTest } from "./grad-check.ts";

const f = (g: Graph, name: string, shape: Dim[]) => g.input(name, "float32", shape);
const i64 = (g: Graph, name: string, shape: Dim[]) => g.input(name, "int64", shape);
const pos = { a: uniform(0.5, 2), b: uniform(0.5, 2) };
const away = { a: uniform(0.3, 2) };
const two = (fn: (a: Tensor, b: Tensor) => Tensor, sa: Dim[], sb: Dim[]) => (g: Graph) => fn(f(g, "a", sa), f(g, "b", sb));
const one =
  (fn: (a: Tensor) => Tensor, sa: Dim[] = ["B", "T", 4]) =>
  (g: Graph) =>
    fn(f(g, "a", sa));

// elementwise, with broadcasting over symbolic dims
gradTest("Add (B,T,4)+(4)", { build: two(op.add, ["B", "T", 4], [4]) });
gradTest("Add scalar-shaped", { build: two(op.add, [3, 1], []) });
gradTest("Sub (2,3)-(1,3)", { build: two(op.sub, [2, 3], [1, 3]) });
gradTest("Mul (B,T,4)*(B,1,4)", { build: two(op.mul, ["B", "T", 4], ["B", 1, 4]) });
gradTest("Div positive denominators", { build: two(op.div, ["B", 3], [1, 3]), data: pos });
gradTest("Pow positive base", { build: two(op.pow, [2, 3], [3]), data: pos });
gradTest("Pow constant exponent 2 (folded rule)", { build: one((a) => op.pow(a, 2)) });
gradTest("Pow constant exponent 1.5", { build: one((a) => op.pow(a, 1.5)), data: away });
gradTest("Max elementwise", { build: two(op.maximum, ["B", 3], [3]) });
gradTest("Min elementwise", { build: two(op.minimum, [2, 3], [2, 1]) });
gradTest("Neg", { build: one(op.neg) });
gradTest("Exp", { build: one(op.exp) });
gradTest("Log", { build: one(op.log), data: away });
gradTest("Sqrt", { build: one(op.sqrt), data: away });
gradTest("Reciprocal", { build: one(op.reciprocal), data: away });
gradTest("Tanh", { build: one(op.tanh) });
gradTest("Sigmoid", { build: one(op.sigmoid) });
gradTest("Erf", { build: one(op.erf) });
gradTest("Abs", { build: one(op.abs), data: { a: (n, r) => uniform(0.2, 2)(n, r).map((v, i) => (i % 2 ? -v : v)) } });
gradTest("Sign (zero gradient)", { build: one((a) => op.add(op.sign(a), op.mul(a, 0.5))) });
gradTest("Sin", { build: one(op.sin) });
gradTest("Cos", { build: one(op.cos) });
gradTest("Where", { build: (g) => op.where(g.input("c", "bool", ["B", 3]), f(g, "a", ["B", 3]), f(g, "b", [3])) });
gradTest("Cast float32→float16→float32", { build: one((a) => op.cast(op.cast(a, "float16"), "float32")), noFiniteDiff: true, tol: 2e-3 });
gradTest("Identity", { build: one(op.identity) });
gradTest("stopGradient (forward and lowering)", { build: one((a) => op.mul(a, op.stopGradient(a))), noFiniteDiff: true });

// matmul, with broadcast batch dims and the folded 2-D weight case
gradTest("MatMul (B,3,4)@(4,5)", { build: two(op.matmul, ["B", 3, 4], [4, 5]) });
gradTest("MatMul (2,1,3,4)@(5,4,2)", { build: two(op.matmul, [2, 1, 3, 4], [5, 4, 2]) });
gradTest("MatMul (3,4)@(B,4,2)", { build: two(op.matmul, [3, 4], ["B", 4, 2]) });

// reductions
gradTest("ReduceSum axes [1] keepdims", { build: one((a) => op.sum(a, [1], true)) });
gradTest("ReduceSum all", { build: one((a) => op.sum(a)) });
gradTest("ReduceMean over symbolic T", { build: one((a) => op.mean(a, [1], false)) });
gradTest("ReduceMean over B,T", { build: one((a) => op.mean(a, [0, 1], false)) });
gradTest("ReduceMax axis -1", { build: one((a) => op.max(a, -1, false)) });

// fused primitives: rules that read only the output (softmaxes) or the inputs (SwiGlu, cross-entropy)
gradTest("Softmax last axis", { build: one((a) => op.softmax(a, -1)) });
gradTest("Softmax middle axis, large logits", { build: one((a) => op.softmax(a, 1)), data: { a: uniform(-20, 20) } });
gradTest("LogSoftmax last axis", { build: one((a) => op.logSoftmax(a, -1)) });
gradTest("LogSoftmax axis 0", { build: one((a) => op.logSoftmax(a, 0)) });
gradTest("SwiGlu", { build: two(op.swiGlu, ["B", "T", 4], ["B", "T", 4]), data: { a: uniform(-6, 6) } });
gradTest("SoftmaxCrossEntropy (T, 5) with ignored rows", {
  build: (g) => op.softmaxCrossEntropy(f(g, "a", ["T", 5]), i64(g, "labels", ["T"])),
  data: { labels: (n, r) => ints(0, 5)(n, r).map((v, i) => (i % 3 === 1 ? -100 : v)) },
  bindings: [{ T: 3 }, { T: 5 }],
});
gradTest("SoftmaxCrossEntropy (B, T, 4) int32 labels", {
  build: (g) => op.softmaxCrossEntropy(f(g, "a", ["B", "T", 4]), g.input("labels", "int32", ["B", "T"]), -1),
  data: { labels: ints(-1, 4) },
});

// shape ops
gradTest("Reshape to (B*T, 4)", { build: one((a) => op.reshape(a, ["B*T", 4])) });
gradTest("Reshape split last", { build: one((a) => op.reshape(a, ["B", "T", 2, 2])) });
gradTest("Transpose", { build: one((a) => op.transpose(a, [2, 0, 1])) });
gradTest("Slice negative start", { build: one((a) => op.slice(a, 1, -1)) });
gradTest("Slice static middle", { build: one((a) => op.slice(a, 2, 1, 3)) });
gradTest("Slice symbolic start", { build: (g) => op.slice(op.concat([f(g, "a", ["P", 3]), f(g, "b", ["T", 3])], 0), 0, "P") });
gradTest("Concat P+T", { build: (g) => op.concat([f(g, "a", ["P", 2]), f(g, "b", ["T", 2])], 0) });
gradTest("Concat last axis", { build: (g) => op.concat([f(g, "a", [2, 1]), f(g, "b", [2, 3]), f(g, "c", [2, 2])], 1) });
gradTest("Gather rows (embedding)", { build: (g) => op.gather(f(g, "a", [6, 3]), i64(g, "i", ["B", "T"]), 0), data: { i: ints(0, 6) } });
gradTest("Gather axis 1 repeated ids", {
  build: (g) => op.gather(f(g, "a", [2, 5, 3]), i64(g, "i", [4]), 1),
  data: { i: () => [1, 3, 1, 4] },
});
gradTest("GatherElements", { build: (g) => op.gatherElements(f(g, "a", [3, 5]), i64(g, "i", [3, 2]), 1), data: { i: ints(0, 5) } });
gradTest("ScatterElementsAdd", {
  build: (g) => op.scatterElementsAdd(f(g, "a", [3, 5]), i64(g, "i", [3, 2]), f(g, "u", [3, 2]), 1),
  data: { i: ints(0, 5) },
});
gradTest("ScatterNDAdd (data)", {
  build: (g) => op.scatterNDAdd(f(g, "a", [5, 2]), i64(g, "i", [3, 1]), op.exp(g.input("u", "float32", [3, 2]))),
  wrt: ["a"],
  data: { i: ints(0, 5) },
});
gradTest("Expand", { build: one((a) => op.expand(a, ["B", 2, 3]), [1, 3]) });
gradTest("Squeeze", { build: one((a) => op.squeeze(a, [1]), ["B", 1, 3]) });
gradTest("Unsqueeze", { build: one((a) => op.unsqueeze(a, [0, 3])) });
gradTest("Pad symbolic", { build: (g) => op.pad(f(g, "a", ["T", 2]), [1, 0, "T", 2]) });

// composites
gradTest("softmax", { build: one((a) => nn.softmax(a, -1)) });
gradTest("logSoftmax axis 1", { build: one((a) => nn.logSoftmax(a, 1)) });
gradTest("rmsNorm", { build: (g) => nn.rmsNorm(f(g, "a", ["B", "T", 4]), f(g, "w", [4]), 1e-5) });
gradTest("layerNorm", { build: (g) => nn.layerNorm(f(g, "a", ["B", "T", 4]), f(g, "w", [4]), f(g, "b", [4]), 1e-5) });
gradTest("silu", { build: one(nn.silu) });
gradTest("gelu (erf)", { build: one(nn.gelu) });
gradTest("gelu (tanh)", { build: one(nn.geluTanh) });
gradTest("linear", { build: (g) => nn.linear(f(g, "a", ["B", "T", 4]), f(g, "w", [4, 3]), f(g, "b", [3])) });
gradTest("crossEntropy with ignore index", {
  build: (g) => nn.crossEntropy(f(g, "a", ["T", 5]), i64(g, "labels", ["T"])),
  data: { labels: (n, r) => ints(0, 5)(n, r).map((v, i) => (i === 1 ? -100 : v)) },
  bindings: [{ T: 3 }, { T: 4 }],
});
gradTest("causal-masked softmax (T, P+T)", {
  build: (g) => {
    const keys = op.concat([f(g, "past", ["P", 4]), f(g, "new", ["T", 4])], 0); // (P+T, 4)
    const scores = op.matmul(f(g, "q", ["T", 4]), op.transposeLast(keys)); // (T, P+T)
    return nn.softmax(op.add(scores, nn.causalMask(scores, "T", "P")), -1);
  },
  bindings: [
    { T: 3, P: 0 },
    { T: 2, P: 2 },
  ],
});
