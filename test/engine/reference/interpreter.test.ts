// The reference interpreter itself: symbol binding and its errors, feed checks, output selection,
// the shape assertion, HostTensor conversion, and composites end to end.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Dim } from "../../../src/engine/ir/dim.ts";
import { f32, i64 } from "../../../src/engine/ir/host-tensor.ts";
import * as nn from "../../../src/engine/ir/composites.ts";
import { OP_SPECS } from "../../../src/engine/ir/op-specs.ts";
import * as op from "../../../src/engine/ir/ops.ts";
import { KERNELS, bindSymbols, evaluate, evaluateHost, ndarray } from "../../../src/engine/reference/index.ts";
import { Graph, assertClose, ev, vals } from "./helpers.ts";

function twoInputs() {
  const g = new Graph();
  const a = g.input("a", "float32", ["B", "T", 2]);
  const b = g.input("b", "float32", ["T"]);
  g.output("y", op.mul(op.sum(a, -1), b)); // (B, T)
  return g;
}

describe("reference interpreter", () => {
  it("has a kernel for every primitive op", () => {
    assert.deepEqual(Object.keys(KERNELS).sort(), Object.keys(OP_SPECS).sort());
  });

  it("binds symbols from the feeds", () => {
    const env = bindSymbols(twoInputs(), { a: f32([2, 3, 2]), b: f32([3]) });
    assert.deepEqual(
      [...env],
      [
        ["B", 2],
        ["T", 3],
      ],
    );
  });

  it("names the input, axis, symbol and both values on a binding conflict", () => {
    assert.throws(
      () => evaluate(twoInputs(), { a: f32([2, 3, 2]), b: f32([4]) }),
      /input 'b' axis 0: symbol 'T' is 4 here but 3 from input 'a' axis 1/,
    );
  });

  it("rejects wrong static sizes, ranks and dtypes", () => {
    const g = twoInputs();
    assert.throws(() => evaluate(g, { a: f32([2, 3, 5]), b: f32([3]) }), /input 'a' axis 2: declared size 2, fed 5/);
    assert.throws(() => evaluate(g, { a: f32([2, 3]), b: f32([3]) }), /input 'a': declared shape \[B, T, 2\] \(rank 3\), fed \[2, 3\]/);
    assert.throws(() => evaluate(g, { a: f32([2, 3, 2]), b: i64([3]) }), /input 'b': declared float32, fed int64/);
  });

  it("names missing and unknown feeds", () => {
    const g = twoInputs();
    assert.throws(() => evaluate(g, {}), /missing feeds: a, b/);
    assert.throws(() => evaluate(g, { a: f32([1, 1, 2]), b: f32([1]), c: f32([1]) }), /feeds name no graph input: c/);
  });

  it("evaluates only what the requested outputs need", () => {
    const g = new Graph();
    const a = g.input("a", "float32", [2]);
    const b = g.input("b", "float32", [2]);
    g.output("ya", op.add(a, 1));
    g.output("yb", op.add(b, 1));
    const r = evaluate(g, { a: f32([2], [1, 2]) }, ["ya"]);
    assert.deepEqual(Object.keys(r), ["ya"]);
    assert.deepEqual(vals(r.ya!), [2, 3]);
    assert.throws(() => evaluate(g, { a: f32([2], [1, 2]) }, ["nope"]), /no graph output 'nope' \(outputs: ya, yb\)/);
  });

  it("returns all named outputs by default, and intermediates on request", () => {
    const g = twoInputs();
    const feeds = { a: f32([1, 2, 2], [1, 2, 3, 4]), b: f32([2], [10, 100]) };
    const { y } = evaluate(g, feeds);
    assert.deepEqual(
      [y!.shape, vals(y!)],
      [
        [1, 2],
        [30, 700],
      ],
    );
    const sum = g.outputs.get("y")!.node.inputs[0]!;
    assert.deepEqual(vals(evaluate(g, feeds, [sum, g.outputs.get("y")!])[0]!), [3, 7]);
  });

  it("accepts float64 NDArray feeds and converts results to HostTensors of the declared dtype", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [2]);
    const n = g.input("n", "int64", [2]);
    g.output("f", op.mul(x, 3));
    g.output("i", op.add(n, 1));
    g.output("h", op.cast(x, "float16"));
    g.output("m", op.less(x, 0.5));
    const out = evaluateHost(g, { x: ndarray("float32", [2], [0.1, 1]), n: i64([2], [5, -9]) });
    assert.ok(out.f!.data instanceof Float32Array);
    assert.deepEqual(Array.from(out.f!.data as Float32Array), [Math.fround(0.1 * 3), 3]);
    assert.deepEqual(out.i!.data, BigInt64Array.of(6n, -8n));
    assert.deepEqual(out.h!.data, Uint16Array.of(0x2e66, 0x3c00));
    assert.deepEqual(out.m!.data, Uint8Array.of(1, 0));
  });

  it("reads float16 initializers from their bits and rejects inexact int64 feeds", () => {
    const g = new Graph();
    const w = g.initializer("w", "float16", [2], Uint16Array.of(0x3c00, 0xc000)); // [1, -2]
    const x = g.input("x", "float16", [2]);
    g.output("y", op.add(w, x));
    const r = evaluate(g, { x: f32([2], [0.5, 0.25]) }).y!;
    assert.deepEqual([r.dtype, vals(r)], ["float16", [1.5, -1.75]]);
    // wider float data fed to a float16 input is rounded to float16 first
    const tenth = evaluate(g, { x: { dtype: "float32", shape: [2], data: Float64Array.of(0.1, 0) } }).y!;
    assert.deepEqual(vals(tenth), [1.0999755859375, -2]);
    const h = new Graph();
    h.output("n", op.add(h.input("n", "int64", [1]), 1));
    assert.throws(() => evaluate(h, { n: i64([1], [(2n ** 60n) as unknown as number]) }), /not exact in float64/);
  });

  it("asserts each node's shape against the IR's inference", () => {
    const g = new Graph();
    const x = g.input("x", "float32", ["T"]);
    const y = op.exp(x);
    (y.shape as Dim[])[0] = "T+1"; // simulate a wrong shape inference
    assert.throws(
      () => ev(g, { x: f32([2]) }, y),
      /node #1 Exp\(float32\[T\]\): kernel produced float32\[2\] but the IR infers float32\[T\+1\] = \[3\] under \{T=2\} \(engine bug\)/,
    );
  });

  it("reports an unbound symbol with the node", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [2]);
    const r = op.range(x, "P");
    assert.throws(() => ev(g, { x: f32([2]) }, r), /node #1 Range\(\): .*symbol 'P' is not bound/);
    assert.deepEqual(vals(evaluate(g, { x: f32([2]) }, [r], { bindings: { P: 3 } })[0]!), [0, 1, 2]);
  });

  it("runs softmax, cross-entropy and a causal mask end to end", () => {
    const g = new Graph();
    const logits = g.input("logits", "float32", ["N", 3]);
    const labels = g.input("labels", "int64", ["N"]);
    const feeds = { logits: f32([2, 3], [1, 2, 3, 0, 0, 0]), labels: i64([2], [2, -100]) };
    const sm = ev(g, feeds, nn.softmax(logits));
    const z = Math.exp(1) + Math.exp(2) + Math.exp(3);
    assertClose(vals(sm), [Math.exp(1) / z, Math.exp(2) / z, Math.exp(3) / z, 1 / 3, 1 / 3, 1 / 3]);
    assertClose(vals(ev(g, feeds, nn.crossEntropy(logits, labels))), [Math.log(z) - 3]);
    // 2 new positions after 1 cached: (T, P+T)
    const h = new Graph();
    const q = h.input("q", "float32", ["T", 4]);
    h.input("past", "float32", ["P", 4]);
    const mask = nn.causalMask(q, "T", "P", -1);
    const m = ev(h, { q: f32([2, 4]), past: f32([1, 4]) }, mask);
    assert.deepEqual(
      [m.shape, vals(m)],
      [
        [2, 3],
        [0, 0, -1, 0, 0, 0],
      ],
    );
  });
});
