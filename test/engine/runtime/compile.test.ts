// compile() and Compiled: feed validation messages, session caching and release, pre-allocated
// outputs, zero-copy views as feeds, output shapes from bindings.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Graph } from "../../../src/engine/ir/graph.ts";
import { f32, i64 } from "../../../src/engine/ir/host-tensor.ts";
import * as nn from "../../../src/engine/ir/composites.ts";
import * as op from "../../../src/engine/ir/ops.ts";
import { compile, liveSessionCount } from "../../../src/engine/runtime/compile.ts";

/** x: (B, T, 4), ids: (B, T) → y: (B*T, 4), pos: (T), first: (T-1, 4) */
function build(): Graph {
  const g = new Graph();
  const x = g.input("x", "float32", ["B", "T", 4]);
  const ids = g.input("ids", "int64", ["B", "T"]);
  g.output("y", op.reshape(op.mul(x, op.cast(op.unsqueeze(ids, [2]), "float32")), ["B*T", 4]));
  g.output("pos", op.range(x, "T", "int32"));
  g.output("rest", op.slice(op.sum(x, 0), 0, 1));
  return g;
}

const feeds = (B: number, T: number) => ({
  x: f32(
    [B, T, 4],
    Float32Array.from({ length: B * T * 4 }, (_, i) => i),
  ),
  ids: i64(
    [B, T],
    Array.from({ length: B * T }, (_, i) => i % 3),
  ),
});

describe("compile: feed validation", () => {
  it("names the input, the axis, the symbol and both values", async () => {
    const m = await compile(build());
    const ok = feeds(2, 3);
    const rejects = (f: Record<string, unknown>, re: RegExp) => assert.rejects(m.run(f as never), re);
    await rejects({ x: ok.x }, /missing feed for input 'ids' \(int64\[B, T\]\)/);
    await rejects({ ...ok, z: ok.x }, /feeds name no graph input: z \(inputs: x, ids\)/);
    await rejects({ ...ok, ids: { ...ok.ids, dtype: "int32" } }, /input 'ids': declared int64, fed int32/);
    await rejects(
      { ...ok, ids: { ...ok.ids, data: new Int32Array(6) } },
      /input 'ids': int64 data must be a BigInt64Array, fed a Int32Array/,
    );
    await rejects({ ...ok, x: f32([6, 4]) }, /input 'x': declared shape \[B, T, 4\] \(rank 3\), fed \[6, 4\]/);
    await rejects({ ...ok, x: f32([2, 3, 5]) }, /input 'x' axis 2: declared size 4, fed 5/);
    await rejects({ ...ok, ids: i64([2, 4]) }, /input 'ids' axis 1: symbol 'T' is 4 here but 3 from input 'x' axis 1/);
    await rejects({ ...ok, x: { ...ok.x, data: new Float32Array(5) } }, /input 'x': shape \[2, 3, 4\] has 24 elements, data 5/);
    // T = 0 makes the slice's size T-1 negative
    await rejects(feeds(2, 0), /dimension 'T-1' evaluates to -1 under B=2, T=0/);
    await m.dispose();
  });
});

describe("compile: runs", () => {
  it("serves several shapes from one session and predicts output shapes", async () => {
    const m = await compile(build());
    for (const [B, T] of [
      [2, 3],
      [1, 1],
      [3, 7],
    ] as const) {
      const f = feeds(B, T);
      const out = await m.run(f);
      assert.deepEqual(m.outputShapes(f), { y: [B * T, 4], pos: [T], rest: [T - 1, 4] });
      assert.deepEqual(out.y!.shape, [B * T, 4]);
      assert.deepEqual(
        [...out.pos!.data],
        Array.from({ length: T }, (_, i) => i),
      );
      const want = Array.from({ length: B * T * 4 }, (_, i) => i * ((i >> 2) % 3));
      assert.deepEqual([...out.y!.data], want);
    }
    await m.dispose();
  });

  it("takes subarray views as feeds without copying", async () => {
    const g = new Graph();
    g.output("s", op.sum(g.input("x", "float32", ["N"])));
    const m = await compile(g);
    const big = Float32Array.from({ length: 100 }, (_, i) => i);
    const out = await m.run({ x: f32([10], big.subarray(90)) });
    assert.equal(Number(out.s!.data[0]), 90 + 91 + 92 + 93 + 94 + 95 + 96 + 97 + 98 + 99);
    await m.dispose();
  });

  it("writes into pre-allocated outputs, all or some", async () => {
    const m = await compile(build());
    const f = feeds(2, 3);
    const fresh = await m.run(f);
    const dest = m.allocOutputs(f);
    const out = await m.run(f, { outputs: dest });
    for (const k of ["y", "pos", "rest"]) {
      assert.equal(out[k]!.data, dest[k]!.data, `${k} is the caller's array`);
      assert.deepEqual(out[k], fresh[k]);
    }
    const partial = await m.run(f, { outputs: { y: dest.y! } });
    assert.equal(partial.y!.data, dest.y!.data);
    assert.deepEqual(partial.pos, fresh.pos);
    await assert.rejects(
      m.run(f, { outputs: { y: f32([5, 4]) } }),
      /pre-allocated output 'y': shape \[5, 4\] \(20 values\), expected \[6, 4\]/,
    );
    await assert.rejects(m.run(f, { outputs: { q: f32([1]) } }), /'q' is not an output/);
    await m.dispose();
  });

  it("runs concurrently on one session", async () => {
    const m = await compile(build());
    const runs = await Promise.all([1, 2, 3, 4].map((T) => m.run(feeds(2, T))));
    runs.forEach((r, i) => assert.deepEqual(r.pos!.shape, [i + 1]));
    await m.dispose();
  });

  it("compiles a subset of outputs", async () => {
    const m = await compile(build(), { outputs: ["pos"] });
    assert.deepEqual(
      m.inputs.map((s) => s.name),
      ["x"],
    );
    const out = await m.run({ x: f32([1, 2, 4]), ids: i64([1, 2]) }); // the unneeded feed is ignored
    assert.deepEqual(Object.keys(out), ["pos"]);
    await m.dispose();
  });

  it("runs a static-shape graph with a causal mask and softmax", async () => {
    const g = new Graph();
    const s = g.input("s", "float32", [3, 3]);
    g.output("p", nn.softmax(op.add(s, nn.causalMask(s, 3))));
    const m = await compile(g);
    const out = await m.run({ s: f32([3, 3]) });
    assert.deepEqual(
      Array.from(out.p!.data as Float32Array, (v) => Math.round(v * 1000) / 1000),
      [1, 0, 0, 0.5, 0.5, 0, 0.333, 0.333, 0.333],
    );
    await m.dispose();
  });
});

describe("compile: session cache", () => {
  it("reuses the session for the same graph and releases it with the last handle", async () => {
    const before = liveSessionCount();
    const a = await compile(build());
    const b = await compile(build());
    assert.equal(a.signature, b.signature);
    assert.equal(liveSessionCount(), before + 1);
    const c = await compile(build(), { graphOptimizationLevel: "basic" });
    assert.equal(liveSessionCount(), before + 2, "other session options get their own session");
    await a.dispose();
    await a.dispose();
    assert.equal(liveSessionCount(), before + 2);
    assert.deepEqual((await b.run(feeds(1, 2))).pos!.shape, [2]);
    await b.dispose();
    await c.dispose();
    assert.equal(liveSessionCount(), before);
    await assert.rejects(a.run(feeds(1, 2)), /disposed/);
  });

  it("gives a different graph a different signature", async () => {
    const g = build();
    g.output("extra", op.neg(g.inputNodes()[0]!.outputs[0]!));
    const a = await compile(build());
    const b = await compile(g);
    assert.notEqual(a.signature, b.signature);
    await a.dispose();
    await b.dispose();
  });
});
