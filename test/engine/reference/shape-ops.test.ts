// Reference kernels that move data: Reshape (symbolic), Transpose, Slice, Concat, Expand, (Un)squeeze,
// Pad with symbolic pads, Range and DimValue.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { f32 } from "../../../src/engine/ir/host-tensor.ts";
import * as op from "../../../src/engine/ir/ops.ts";
import { Graph, ev, vals } from "./helpers.ts";

const iota = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("reference shape ops", () => {
  it("reshapes (B, T, C) to (B*T, C) and back", () => {
    const g = new Graph();
    const x = g.input("x", "float32", ["B", "T", 2]);
    const flat = op.reshape(x, ["B*T", 2]);
    const back = op.reshape(op.mul(flat, 10), ["B", "T", 2]);
    const feeds = { x: f32([2, 3, 2], iota(12)) };
    const r = ev(g, feeds, flat);
    assert.deepEqual([r.shape, vals(r)], [[6, 2], iota(12)]);
    assert.deepEqual(ev(g, feeds, back).shape, [2, 3, 2]);
  });

  it("transposes with a permutation", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [2, 3, 2]);
    const r = ev(g, { x: f32([2, 3, 2], iota(12)) }, op.transpose(x, [2, 0, 1]));
    assert.deepEqual(r.shape, [2, 2, 3]);
    assert.deepEqual(vals(r), [0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11]);
  });

  it("slices with negative, clamped and open bounds", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [2, 5]);
    const feeds = { x: f32([2, 5], iota(10)) };
    const s = (start: number, end: number | null) => vals(ev(g, feeds, op.slice(x, -1, start, end)));
    assert.deepEqual(s(1, 3), [1, 2, 6, 7]);
    assert.deepEqual(s(-2, null), [3, 4, 8, 9]);
    assert.deepEqual(s(-4, -1), [1, 2, 3, 6, 7, 8]);
    assert.deepEqual(s(3, 100), [3, 4, 8, 9]);
    assert.deepEqual(s(-100, 1), [0, 5]);
    assert.deepEqual(s(4, 2), []);
    assert.deepEqual(vals(ev(g, feeds, op.slice(x, 0, 1))), [5, 6, 7, 8, 9]);
  });

  it("slices symbolic dims: last position, drop first, symbolic start", () => {
    const g = new Graph();
    const x = g.input("x", "float32", ["T", 1]);
    const feeds = { x: f32([4, 1], [10, 11, 12, 13]) };
    const last = op.slice(x, 0, -1);
    assert.deepEqual(last.shape, [1, 1]);
    assert.deepEqual(vals(ev(g, feeds, last)), [13]);
    const tail = op.slice(x, 0, 1);
    assert.deepEqual(tail.shape, ["T-1", 1]);
    assert.deepEqual(vals(ev(g, feeds, tail)), [11, 12, 13]);
    // x: (P+T, 1) from a cache of P positions; take the T new ones with the symbolic start "P"
    const h = new Graph();
    const kv = h.input("kv", "float32", ["S", 1]);
    h.input("q", "float32", ["P", 1]); // binds P
    const fresh = op.slice(kv, 0, "P");
    assert.deepEqual(fresh.shape, ["-P+S", 1]);
    assert.deepEqual(vals(ev(h, { kv: f32([4, 1], [1, 2, 3, 4]), q: f32([1, 1], [0]) }, fresh)), [2, 3, 4]);
    assert.throws(
      () => ev(h, { kv: f32([2, 1], [1, 2]), q: f32([3, 1], [0, 0, 0]) }, fresh),
      /\[-1, 1\] under \{S=2, P=3\}; the feeds make it impossible/,
    );
  });

  it("concatenates along a symbolic axis", () => {
    const g = new Graph();
    const past = g.input("past", "float32", [1, "P"]);
    const cur = g.input("cur", "float32", [1, "T"]);
    const y = op.concat([past, cur], 1);
    assert.deepEqual(y.shape, [1, "P+T"]);
    const r = ev(g, { past: f32([1, 2], [1, 2]), cur: f32([1, 3], [3, 4, 5]) }, y);
    assert.deepEqual(
      [r.shape, vals(r)],
      [
        [1, 5],
        [1, 2, 3, 4, 5],
      ],
    );
    const h = new Graph();
    const a = h.input("a", "float32", [2, 1]);
    const b = h.input("b", "float32", [2, 2]);
    assert.deepEqual(vals(ev(h, { a: f32([2, 1], [1, 2]), b: f32([2, 2], [3, 4, 5, 6]) }, op.concat([a, b], -1))), [1, 3, 4, 2, 5, 6]);
  });

  it("expands to a symbolic shape, squeezes and unsqueezes", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [3]);
    g.input("t", "float32", ["T"]); // binds T
    const y = op.expand(op.unsqueeze(x, [0]), ["T", 3]); // (T, 3)
    const r = ev(g, { x: f32([3], [1, 2, 3]), t: f32([2], [0, 0]) }, y);
    assert.deepEqual(
      [r.shape, vals(r)],
      [
        [2, 3],
        [1, 2, 3, 1, 2, 3],
      ],
    );
    const z = op.zeros(x, ["T", 2]);
    assert.deepEqual(ev(g, { t: f32([4], [0, 0, 0, 0]) }, z).shape, [4, 2]);
    const u = op.unsqueeze(x, [0, -1]); // (1, 3, 1)
    assert.deepEqual(u.shape, [1, 3, 1]);
    const s = ev(g, { x: f32([3], [1, 2, 3]) }, op.squeeze(u, [0, 2]));
    assert.deepEqual([s.shape, vals(s)], [[3], [1, 2, 3]]);
  });

  it("pads with symbolic begin/end amounts", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [1, "T"]);
    g.input("m", "float32", ["M"]); // binds M
    // left-pad the time axis up to M positions: (1, M)
    const y = op.pad(op.add(x, 0), [0, "M-T", 0, 0]);
    assert.deepEqual(y.shape, [1, "M"]);
    const r = ev(g, { x: f32([1, 2], [7, 8]), m: f32([5], [0, 0, 0, 0, 0]) }, y);
    assert.deepEqual(
      [r.shape, vals(r)],
      [
        [1, 5],
        [0, 0, 0, 7, 8],
      ],
    );
    const both = ev(g, { x: f32([1, 2], [7, 8]) }, op.pad(x, [1, 1, 0, 2]));
    assert.deepEqual(
      [both.shape, vals(both)],
      [
        [2, 5],
        [0, 0, 0, 0, 0, 0, 7, 8, 0, 0],
      ],
    );
  });

  it("crops with negative pads, as ONNX Pad", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [4]);
    const r = ev(g, { x: f32([4], [1, 2, 3, 4]) }, op.pad(x, [-1, 1]));
    assert.deepEqual([r.shape, vals(r)], [[4], [2, 3, 4, 0]]);
  });

  it("generates Range and DimValue from bindings", () => {
    const g = new Graph();
    const x = g.input("x", "float32", ["B", "T"]);
    const rg = op.range(x, "B*T");
    const r = ev(g, { x: f32([2, 3], iota(6)) }, rg);
    assert.deepEqual([r.dtype, r.shape, vals(r)], ["int64", [6], iota(6)]);
    const dv = ev(g, { x: f32([2, 3], iota(6)) }, op.dimValue(x, "T+1"));
    assert.deepEqual([dv.dtype, dv.shape, vals(dv)], ["int64", [], [4]]);
    assert.deepEqual(vals(ev(g, { x: f32([2, 0], []) }, op.range(x, "T", "float32"))), []);
  });
});
