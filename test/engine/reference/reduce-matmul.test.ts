// Reference kernels: reductions (axes, keepdims, empty extents, integer means) and batched MatMul.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { f32, i64 } from "../../../src/engine/ir/host-tensor.ts";
import * as op from "../../../src/engine/ir/ops.ts";
import { Graph, ev, vals } from "./helpers.ts";

describe("reference reductions", () => {
  // x: (2, 3) = [[1, 2, 3], [4, 5, 6]]
  const g = new Graph();
  const x = g.input("x", "float32", [2, 3]);
  const feeds = { x: f32([2, 3], [1, 2, 3, 4, 5, 6]) };

  it("reduces over chosen axes, with and without keepdims", () => {
    const s0 = ev(g, feeds, op.sum(x, 0));
    assert.deepEqual([s0.shape, vals(s0)], [[3], [5, 7, 9]]);
    const s1 = ev(g, feeds, op.sum(x, -1, true));
    assert.deepEqual(
      [s1.shape, vals(s1)],
      [
        [2, 1],
        [6, 15],
      ],
    );
    const all = ev(g, feeds, op.sum(x));
    assert.deepEqual([all.shape, vals(all)], [[], [21]]);
    const m = ev(g, feeds, op.mean(x, 1));
    assert.deepEqual(vals(m), [2, 5]);
    const mx = ev(g, feeds, op.max(x, [0, 1], true));
    assert.deepEqual([mx.shape, vals(mx)], [[1, 1], [6]]);
  });

  it("reduces a middle axis of a rank-3 tensor", () => {
    const h = new Graph();
    const y = h.input("y", "float32", [2, 2, 2]);
    const r = ev(h, { y: f32([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]) }, op.max(y, 1));
    assert.deepEqual(
      [r.shape, vals(r)],
      [
        [2, 2],
        [3, 4, 7, 8],
      ],
    );
  });

  it("gives 0 for an empty sum, -Infinity for an empty max, NaN for an empty mean", () => {
    const h = new Graph();
    const e = h.input("e", "float32", [2, "T"]);
    const feedsE = { e: f32([2, 0], []) };
    assert.deepEqual(vals(ev(h, feedsE, op.sum(e, 1))), [0, 0]);
    assert.deepEqual(vals(ev(h, feedsE, op.max(e, 1))), [-Infinity, -Infinity]);
    assert.ok(vals(ev(h, feedsE, op.mean(e, 1))).every(Number.isNaN));
  });

  it("reduces nothing for an empty axes list (op-specs semantics)", () => {
    const r = ev(g, feeds, op.sum(x, []));
    assert.deepEqual(
      [r.shape, vals(r)],
      [
        [2, 3],
        [1, 2, 3, 4, 5, 6],
      ],
    );
  });

  it("truncates integer means and sums ints exactly", () => {
    const h = new Graph();
    const n = h.input("n", "int64", [3]);
    const f = { n: i64([3], [1, 2, -6]) };
    assert.deepEqual(vals(ev(h, f, op.mean(n))), [-1]);
    assert.deepEqual(vals(ev(h, f, op.sum(n))), [-3]);
  });
});

describe("reference matmul", () => {
  it("multiplies plain matrices", () => {
    const g = new Graph();
    const a = g.input("a", "float32", [2, 3]);
    const b = g.input("b", "float32", [3, 2]);
    const r = ev(g, { a: f32([2, 3], [1, 2, 3, 4, 5, 6]), b: f32([3, 2], [7, 8, 9, 10, 11, 12]) }, op.matmul(a, b));
    assert.deepEqual(
      [r.shape, vals(r)],
      [
        [2, 2],
        [58, 64, 139, 154],
      ],
    );
  });

  it("broadcasts batch dims: (B, 1, M, K) @ (H, K, N) → (B, H, M, N)", () => {
    const g = new Graph();
    const a = g.input("a", "float32", ["B", 1, 1, 2]);
    const b = g.input("b", "float32", [3, 2, 1]);
    const y = op.matmul(a, b);
    assert.deepEqual(y.shape, ["B", 3, 1, 1]);
    // a[0] = [1, 2], a[1] = [3, 4]; b[h] = [[h], [10h]] for h = 1, 2, 3
    const r = ev(g, { a: f32([2, 1, 1, 2], [1, 2, 3, 4]), b: f32([3, 2, 1], [1, 10, 2, 20, 3, 30]) }, y);
    assert.deepEqual(r.shape, [2, 3, 1, 1]);
    assert.deepEqual(vals(r), [21, 42, 63, 43, 86, 129]);
  });

  it("handles an empty inner dimension as a zero sum", () => {
    const g = new Graph();
    const a = g.input("a", "float32", [2, "K"]);
    const b = g.input("b", "float32", ["K", 1]);
    const r = ev(g, { a: f32([2, 0], []), b: f32([0, 1], []) }, op.matmul(a, b));
    assert.deepEqual(
      [r.shape, vals(r)],
      [
        [2, 1],
        [0, 0],
      ],
    );
  });
});
