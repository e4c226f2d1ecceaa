// Reference kernels: broadcasting binary ops (static and symbolic), integer semantics, unary ops, Where, Cast.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { f32, i32, i64 } from "../../../src/engine/ir/host-tensor.ts";
import * as op from "../../../src/engine/ir/ops.ts";
import { Graph, assertClose, ev, vals } from "./helpers.ts";

describe("reference elementwise", () => {
  it("broadcasts (B, 1) with (T) over symbolic dims", () => {
    const g = new Graph();
    const a = g.input("a", "float32", ["B", 1]);
    const b = g.input("b", "float32", ["T"]);
    const y = op.sub(a, b); // (B, T)
    const r = ev(g, { a: f32([2, 1], [10, 20]), b: f32([3], [1, 2, 3]) }, y);
    assert.deepEqual(r.shape, [2, 3]);
    assert.deepEqual(vals(r), [9, 8, 7, 19, 18, 17]);
  });

  it("broadcasts a rank-3 tensor against a scalar and a row", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [2, 1, 2]);
    const row = g.constant("float32", [3, 1], Float32Array.of(1, 2, 3));
    const y = op.mul(op.add(x, row), 2); // (2, 3, 2)
    const r = ev(g, { x: f32([2, 1, 2], [0, 1, 10, 11]) }, y);
    assert.deepEqual(r.shape, [2, 3, 2]);
    assert.deepEqual(vals(r), [2, 4, 4, 6, 6, 8, 22, 24, 24, 26, 26, 28]);
  });

  it("truncates integer division toward zero and rejects division by zero", () => {
    const g = new Graph();
    const a = g.input("a", "int64", [4]);
    const b = g.input("b", "int64", [4]);
    const r = ev(g, { a: i64([4], [7, -7, 7, -7]), b: i64([4], [2, 2, -2, -2]) }, op.div(a, b));
    assert.deepEqual(vals(r), [3, -3, -3, 3]);
    assert.equal(r.dtype, "int64");
    assert.throws(() => ev(g, { a: i64([4], [1, 1, 1, 1]), b: i64([4], [1, 0, 1, 1]) }, op.div(a, b)), /division by zero/);
  });

  it("keeps float division and wraps int32 overflow", () => {
    const g = new Graph();
    const a = g.input("a", "float32", [2]);
    assert.deepEqual(vals(ev(g, { a: f32([2], [7, -1]) }, op.div(a, 2))), [3.5, -0.5]);
    const n = g.input("n", "int32", [1]);
    assert.deepEqual(vals(ev(g, { n: i32([1], [2147483647]) }, op.add(n, 1))), [-2147483648]);
  });

  it("computes Pow, Max, Min and comparisons (to bool)", () => {
    const g = new Graph();
    const a = g.input("a", "float32", [3]);
    const b = g.input("b", "float32", [3]);
    const feeds = { a: f32([3], [2, -1, 4]), b: f32([3], [3, 2, 4]) };
    assert.deepEqual(vals(ev(g, feeds, op.pow(a, b))), [8, 1, 256]);
    assert.deepEqual(vals(ev(g, feeds, op.maximum(a, b))), [3, 2, 4]);
    assert.deepEqual(vals(ev(g, feeds, op.minimum(a, b))), [2, -1, 4]);
    const lt = ev(g, feeds, op.less(a, b));
    assert.equal(lt.dtype, "bool");
    assert.deepEqual(vals(lt), [1, 1, 0]);
    assert.deepEqual(vals(ev(g, feeds, op.greater(a, b))), [0, 0, 0]);
    assert.deepEqual(vals(ev(g, feeds, op.equal(a, b))), [0, 0, 1]);
    assert.deepEqual(vals(ev(g, feeds, op.and(op.less(a, b), op.not(op.equal(a, 2))))), [0, 1, 0]);
    assert.deepEqual(vals(ev(g, feeds, op.or(op.less(a, b), op.equal(a, 4)))), [1, 1, 1]);
  });

  it("computes the unary ops", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [3]);
    const feeds = { x: f32([3], [-2, 0, 0.5]) };
    const check = (t: ReturnType<typeof op.neg>, f: (v: number) => number) => assertClose(vals(ev(g, feeds, t)), [-2, 0, 0.5].map(f));
    check(op.neg(x), (v) => -v);
    check(op.exp(x), Math.exp);
    check(op.abs(x), Math.abs);
    check(op.sign(x), Math.sign);
    check(op.tanh(x), Math.tanh);
    check(op.sin(x), Math.sin);
    check(op.cos(x), Math.cos);
    check(op.sigmoid(x), (v) => 1 / (1 + Math.exp(-v)));
    check(op.reciprocal(x), (v) => 1 / v);
    const p = g.input("p", "float32", [2]);
    assertClose(vals(ev(g, { p: f32([2], [4, 0]) }, op.sqrt(p))), [2, 0]);
    // float64 data is accepted for a float32 input, so e reaches Log unrounded
    const e = { dtype: "float32" as const, shape: [2], data: Float64Array.of(Math.E, 0) };
    assertClose(vals(ev(g, { p: e }, op.log(p))), [1, -Infinity], 0);
    // extreme sigmoid arguments neither overflow nor lose the tail
    assertClose(vals(ev(g, { p: f32([2], [-800, 800]) }, op.sigmoid(p))), [0, 1]);
    assertClose(vals(ev(g, { p: f32([2], [-40, 0]) }, op.sigmoid(p))), [Math.exp(-40) / (1 + Math.exp(-40)), 0.5], 1e-15);
  });

  it("computes erf to double accuracy", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [6]);
    const xs = [0, 0.5, 1, -2, 3.5, 7];
    // values from CPython's math.erf
    const want = [0, 0.5204998778130465, 0.8427007929497149, -0.9953222650189527, 0.9999992569016276, 1];
    assertClose(vals(ev(g, { x: f32([6], xs) }, op.erf(x))), want, 2e-15);
  });

  it("selects with Where over a broadcast condition", () => {
    const g = new Graph();
    const c = g.input("c", "bool", ["T", 1]);
    const a = g.input("a", "float32", [1, 2]);
    const y = op.where(c, a, -1); // (T, 2)
    const r = ev(g, { c: { dtype: "bool", shape: [2, 1], data: Uint8Array.of(1, 0) }, a: f32([1, 2], [5, 6]) }, y);
    assert.deepEqual(r.shape, [2, 2]);
    assert.deepEqual(vals(r), [5, 6, -1, -1]);
  });

  it("casts as ONNX: truncation toward zero, non-zero to bool, float16 rounding", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [5]);
    const feeds = { x: f32([5], [2.7, -2.7, -0.5, 0, 1 / 3]) };
    const toInt = ev(g, feeds, op.cast(x, "int64"));
    assert.equal(toInt.dtype, "int64");
    assert.deepEqual(vals(toInt), [2, -2, 0, 0, 0]);
    assert.deepEqual(vals(ev(g, feeds, op.cast(x, "int32"))), [2, -2, 0, 0, 0]);
    assert.deepEqual(vals(ev(g, feeds, op.cast(x, "bool"))), [1, 1, 1, 0, 1]);
    const h = ev(g, feeds, op.cast(x, "float16"));
    assert.deepEqual(vals(h), [2.69921875, -2.69921875, -0.5, 0, 0.333251953125]);
    const n = g.input("n", "int64", [2]);
    assert.deepEqual(vals(ev(g, { n: i64([2], [3, -4]) }, op.cast(n, "float32"))), [3, -4]);
  });

  it("passes values through Identity and stopGradient", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [2]);
    assert.deepEqual(vals(ev(g, { x: f32([2], [1, 2]) }, op.stopGradient(op.identity(x)))), [1, 2]);
  });
});
