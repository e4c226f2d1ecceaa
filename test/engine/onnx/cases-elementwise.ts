// Per-op cases (leaves, elementwise, Where, Cast, Identity): each builds a small graph with symbolic
// dims that onnxruntime and the reference interpreter must agree on.

import type { DType } from "../../../src/engine/ir/dtype.ts";
import type { Graph, Tensor } from "../../../src/engine/ir/graph.ts";
import type { OpName } from "../../../src/engine/ir/op-specs.ts";
import * as op from "../../../src/engine/ir/ops.ts";
import { type Case, type Gen, bools, ints, nonzeroInts, uniform } from "./check.ts";

type BinaryOp = "Add" | "Sub" | "Mul" | "Div" | "Pow" | "Max" | "Min" | "Equal" | "Less" | "Greater" | "And" | "Or";
type UnaryOp = "Neg" | "Exp" | "Log" | "Sqrt" | "Reciprocal" | "Tanh" | "Sigmoid" | "Erf" | "Abs" | "Sign" | "Sin" | "Cos" | "Not";

const apply = (g: Graph, o: OpName, ins: Tensor[]) => g.addNode(o, ins, {} as never)[0]!;

/** a: (B, T, 3) against b: (T, 1) — broadcasting on both sides */
function binary(o: BinaryOp, dtype: DType, gen?: { a?: Gen; b?: Gen }): Case {
  return {
    name: `${o} ${dtype} (B,T,3)⊙(T,1)`,
    build: (g) => g.output("y", apply(g, o, [g.input("a", dtype, ["B", "T", 3]), g.input("b", dtype, ["T", 1])])),
    data: { ...(gen?.a ? { a: gen.a } : {}), ...(gen?.b ? { b: gen.b } : {}) },
  };
}

/** static shapes, scalar right operand */
function binaryStatic(o: BinaryOp, dtype: DType, gen?: { a?: Gen; b?: Gen }): Case {
  return {
    name: `${o} ${dtype} static (2,5)⊙()`,
    build: (g) => g.output("y", apply(g, o, [g.input("a", dtype, [2, 5]), g.input("b", dtype, [])])),
    data: { ...(gen?.a ? { a: gen.a } : {}), ...(gen?.b ? { b: gen.b } : {}) },
  };
}

const numeric = (o: BinaryOp, gen: { a?: Gen; b?: Gen } = {}, intGen: { a?: Gen; b?: Gen } = gen): Case[] => [
  binary(o, "float32", gen),
  binary(o, "int32", intGen),
  binary(o, "int64", intGen),
  binaryStatic(o, "float32", gen),
  binary(o, "float16", gen),
];

function unary(o: UnaryOp, dtype: DType, gen?: Gen): Case {
  return {
    name: `${o} ${dtype} (B,T)`,
    build: (g) => g.output("y", apply(g, o, [g.input("x", dtype, ["B", "T"])])),
    data: gen ? { x: gen } : {},
  };
}

const floatUnary = (o: UnaryOp, gen?: Gen): Case[] => [unary(o, "float32", gen), unary(o, "float16", gen)];
const positive = uniform(0.05, 4);

export const ELEMENTWISE_CASES: {
  [O in BinaryOp | UnaryOp | "Input" | "Initializer" | "Constant" | "Where" | "Cast" | "Identity"]: Case[];
} = {
  Input: [
    { name: "input passed straight to an output", build: (g) => g.output("y", g.input("x", "float32", ["B", 2])) },
    { name: "scalar input", build: (g) => g.output("y", op.mul(g.input("s", "float32", []), 3)) },
  ],
  Initializer: [
    {
      name: "float32 and float16 initializers",
      build: (g) => {
        const w = g.initializer("w", "float32", [2, 3], Float32Array.of(1, -2, 3, 0.5, 0, -1));
        const h = g.initializer("h", "float16", [3], Uint16Array.of(0x3c00, 0xc000, 0x3800)); // 1, -2, 0.5
        g.output("y", op.add(op.matmul(g.input("x", "float32", ["B", 2]), w), op.cast(h, "float32")));
        g.output("w_out", w);
      },
    },
  ],
  Constant: [
    {
      name: "bool, int32 and int64 constants",
      build: (g) => {
        const x = g.input("x", "int32", ["T", 3]);
        const mask = g.constant("bool", [3], Uint8Array.of(1, 0, 1));
        g.output("y", op.where(mask, op.add(x, g.constant("int32", [3], Int32Array.of(1, 2, 3))), 7));
        g.output("c", op.add(g.constant("int64", [2], BigInt64Array.of(5n, -6n)), g.scalar(1, "int64")));
      },
    },
  ],
  Add: numeric("Add"),
  Sub: numeric("Sub"),
  Mul: numeric("Mul"),
  // integer division truncates toward zero (ONNX); divisors are kept away from zero
  Div: numeric("Div", { b: uniform(0.5, 3) }, { a: ints(-20, 21), b: nonzeroInts(5) }),
  Pow: [
    binary("Pow", "float32", { a: positive }),
    binaryStatic("Pow", "float32", { a: positive }),
    binary("Pow", "float16", { a: positive, b: uniform(-1, 2) }),
  ],
  Max: numeric("Max"),
  Min: numeric("Min"),
  Equal: [...numeric("Equal", { a: ints(0, 3), b: ints(0, 3) })],
  Less: numeric("Less", {}, { a: ints(0, 3), b: ints(0, 3) }),
  Greater: numeric("Greater", {}, { a: ints(0, 3), b: ints(0, 3) }),
  And: [binary("And", "bool", { a: bools, b: bools })],
  Or: [binary("Or", "bool", { a: bools, b: bools })],
  Neg: [...floatUnary("Neg"), unary("Neg", "int32"), unary("Neg", "int64")],
  Exp: floatUnary("Exp"),
  Log: floatUnary("Log", positive),
  Sqrt: floatUnary("Sqrt", positive),
  Reciprocal: floatUnary("Reciprocal", positive),
  Tanh: floatUnary("Tanh"),
  Sigmoid: [...floatUnary("Sigmoid"), unary("Sigmoid", "float32", uniform(-60, 60))],
  Erf: floatUnary("Erf"),
  Abs: [...floatUnary("Abs"), unary("Abs", "int32"), unary("Abs", "int64")],
  Sign: [...floatUnary("Sign", ints(-2, 3)), unary("Sign", "int32"), unary("Sign", "int64")],
  Sin: floatUnary("Sin", uniform(-6, 6)),
  Cos: floatUnary("Cos", uniform(-6, 6)),
  Not: [unary("Not", "bool", bools)],
  Where: [
    {
      name: "Where (B,T,1) ? (T,3) : scalar",
      build: (g) => {
        const c = g.input("c", "bool", ["B", "T", 1]);
        g.output("y", op.where(c, g.input("a", "float32", ["T", 3]), -1));
        g.output("yi", op.where(c, g.input("i", "int64", ["T", 3]), 0));
      },
      data: { c: bools },
    },
  ],
  Cast: [
    {
      name: "Cast between every dtype pair",
      build: (g) => {
        const xs: Record<DType, Tensor> = {
          float32: g.input("f32", "float32", ["B", "T"]),
          float16: g.input("f16", "float16", ["B", "T"]),
          int64: g.input("i64", "int64", ["B", "T"]),
          int32: g.input("i32", "int32", ["B", "T"]),
          bool: g.input("b", "bool", ["B", "T"]),
        };
        for (const [from, x] of Object.entries(xs)) {
          for (const to of Object.keys(xs) as DType[]) if (to !== from) g.output(`${from}_to_${to}`, op.cast(x, to));
        }
      },
      // floats with fractions and negatives: the cast to int truncates toward zero
      data: { f32: uniform(-9, 9), f16: uniform(-9, 9), b: bools },
    },
  ],
  Identity: [
    {
      name: "Identity and stopGradient",
      build: (g) => {
        const x = g.input("x", "float32", ["B", "T"]);
        g.output("y", op.add(op.identity(x), op.stopGradient(x)));
      },
    },
  ],
};
