// The lowered ModelProto itself: pruning to the requested outputs, shape arithmetic for symbolic
// dims (computed once per symbol/expression), error messages, signatures and external data.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Graph } from "../../../src/engine/ir/graph.ts";
import * as op from "../../../src/engine/ir/ops.ts";
import { lowerGraph } from "../../../src/engine/onnx/lower.ts";
import { onnx } from "../../../src/engine/onnx/proto.ts";
import { compile } from "../../../src/engine/runtime/compile.ts";
import { hostOf } from "./check.ts";

/** the decoded fields these tests read (protobufjs types every field as optional) */
interface Decoded {
  opset: number;
  graph: {
    node: Array<{ opType: string; input: string[]; attribute: Array<{ name: string; i: number }> }>;
    initializer: Array<{ name: string; dataType: number; rawData: Uint8Array; dataLocation: number }>;
    input: Array<{ type: { tensorType: { shape: { dim: Array<{ dimParam: string }> } } } }>;
  };
}
function decode(bytes: Uint8Array): Decoded {
  const m = onnx.ModelProto.decode(bytes);
  return { opset: Number(m.opsetImport[0]!.version), graph: m.graph as unknown as Decoded["graph"] };
}
const opTypes = (bytes: Uint8Array) => decode(bytes).graph.node.map((n) => n.opType);
const count = (xs: string[], x: string) => xs.filter((y) => y === x).length;

describe("lowerGraph", () => {
  it("emits only what the requested outputs need, with opset 18 by default", () => {
    const g = new Graph();
    const x = g.input("x", "float32", ["B", 4]);
    const w = g.initializer("w", "float32", [4, 2], new Float32Array(8));
    const unused = g.input("unused", "float32", [3]);
    g.output("a", op.exp(x));
    g.output("b", op.matmul(x, w));
    g.output("c", op.neg(unused));
    const low = lowerGraph(g, { outputs: ["a"] });
    const m = decode(low.model);
    assert.deepEqual(low.inputNames, ["x"]);
    assert.deepEqual(low.outputNames, ["a"]);
    assert.deepEqual(low.unusedInputs, ["unused"]);
    assert.deepEqual(
      m.graph.node.map((n) => n.opType),
      ["Exp"],
    );
    assert.equal(m.graph.initializer.length, 0);
    assert.equal(m.opset, 18);
    assert.equal(m.graph.input[0]!.type.tensorType.shape.dim[0]!.dimParam, "B");
    assert.deepEqual(lowerGraph(g).outputNames, ["a", "b", "c"]);
    assert.equal(decode(lowerGraph(g, { opset: 19 }).model).opset, 19);
  });

  it("turns fully static target shapes into constants (no Shape nodes)", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [2, 3, 4]);
    g.output("y", op.expand(op.reshape(x, [6, 1, 4]), [6, 5, 4]));
    const types = opTypes(lowerGraph(g).model);
    assert.deepEqual(types, ["Reshape", "Expand"]);
  });

  it("reads each symbol once and builds each expression once", () => {
    const g = new Graph();
    const x = g.input("x", "float32", ["B", "T", 3]);
    const p = g.input("past", "float32", ["B", "P", 3]);
    const flat = op.reshape(x, ["B*T", 3]);
    g.output("a", op.add(op.reshape(op.exp(x), ["B*T", 3]), flat));
    g.output("b", op.expand(op.sum(x, [1], true), ["B", "T", 3]));
    g.output("c", op.range(x, "P+T"));
    g.output("d", op.concat([p, x], 1));
    const model = decode(lowerGraph(g).model);
    const types = model.graph.node.map((n) => n.opType);
    assert.equal(count(types, "Shape"), 3); // B, T, P
    assert.equal(count(types, "Mul"), 1); // B*T
    assert.equal(count(types, "Add"), 2); // the user's Add and P+T
    const shapes = model.graph.node.filter((n) => n.opType === "Shape");
    assert.deepEqual(
      shapes.map((n) => n.input[0]),
      ["x", "x", "past"],
    );
    const reshape = model.graph.node.find((n) => n.opType === "Reshape" && n.input[0] === "x")!;
    assert.equal(Number(reshape.attribute.find((a) => a.name === "allowzero")!.i), 1);
  });

  it("declares an input the outputs do not read when only it binds a symbol", async () => {
    const g = new Graph();
    const ids = g.input("ids", "int64", ["B", "T"]);
    g.output("pos", op.range(ids, "T"));
    const low = lowerGraph(g);
    assert.deepEqual(low.inputNames, ["ids"]);
    const m = await compile(g);
    const out = await m.run({ ids: hostOf("int64", [1, 3], [5, 6, 7]) });
    assert.deepEqual([...out.pos!.data], [0n, 1n, 2n]);
    await m.dispose();
  });

  it("rejects symbols no input declares, unknown outputs and colliding names", () => {
    const g = new Graph();
    const x = g.input("x", "float32", ["T"]);
    g.output("r", op.range(x, "N"));
    assert.throws(() => lowerGraph(g), /symbol 'N' is not a bare dim of any graph input/);
    assert.throws(() => lowerGraph(g, { outputs: ["nope"] }), /unknown output 'nope'/);
    assert.throws(() => lowerGraph(g, { opset: 17 }), /opset 17 is not supported/);
    const h = new Graph();
    h.output("x", op.neg(h.input("x", "float32", [2])));
    assert.throws(() => lowerGraph(h), /output 'x' has the name of a graph input/);
  });

  it("stores float16 and bool initializers with their ONNX element types", () => {
    const g = new Graph();
    const w = g.initializer("w", "float16", [2], Uint16Array.of(0x3c00, 0x4000));
    const mask = g.constant("bool", [2], Uint8Array.of(1, 0));
    g.output("y", op.where(mask, op.cast(w, "float32"), 0));
    const inits = decode(lowerGraph(g).model).graph.initializer;
    const wp = inits.find((t) => t.name === "w")!;
    assert.equal(wp.dataType, onnx.TensorProto.DataType.FLOAT16);
    assert.deepEqual([...wp.rawData], [0x00, 0x3c, 0x00, 0x40]);
    assert.ok(inits.some((t) => t.dataType === onnx.TensorProto.DataType.BOOL));
  });

  it("signs structure plus weight identity: rebuilt graphs share it, other weights do not", () => {
    const big = new Float32Array(64 * 1024).fill(0.5);
    const build = (w: Float32Array, k = 2) => {
      const g = new Graph();
      const x = g.input("x", "float32", ["B", 64 * 1024]);
      g.output("y", op.mul(op.mul(x, g.initializer("w", "float32", [64 * 1024], w)), k));
      return lowerGraph(g).signature;
    };
    assert.equal(build(big), build(big));
    assert.notEqual(build(big), build(big.slice()));
    assert.notEqual(build(big), build(big.subarray(0), 3));
    assert.match(build(big), /^[0-9a-f]{32}$/);
  });

  it("writes large initializers as external data and runs them the same", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sprig-ext-"));
    try {
      const g = new Graph();
      const w = g.initializer(
        "w",
        "float32",
        [512, 8],
        Float32Array.from({ length: 4096 }, (_, i) => (i % 7) - 3),
      );
      g.output("y", op.matmul(g.input("x", "float32", ["B", 512]), w));
      const low = lowerGraph(g, { externalDataThreshold: 1000, cacheDir: dir });
      assert.ok(low.modelPath && existsSync(low.modelPath));
      const t = decode(low.model).graph.initializer[0]!;
      assert.equal(t.dataLocation, onnx.TensorProto.DataLocation.EXTERNAL);
      const x = hostOf(
        "float32",
        [2, 512],
        Array.from({ length: 1024 }, (_, i) => i / 512),
      );
      const ext = await compile(g, { externalDataThreshold: 1000, cacheDir: dir });
      const mem = await compile(g);
      assert.deepEqual((await ext.run({ x })).y, (await mem.run({ x })).y);
      await ext.dispose();
      await mem.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
