// Reference kernels: Gather (negative indices), GatherElements, ScatterElementsAdd, ScatterNDAdd.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { f32, i32, i64 } from "../../../src/engine/ir/host-tensor.ts";
import * as op from "../../../src/engine/ir/ops.ts";
import { Graph, ev, vals } from "./helpers.ts";

describe("reference gather/scatter", () => {
  it("gathers rows with negative indices wrapping", () => {
    const g = new Graph();
    const emb = g.input("emb", "float32", [4, 2]);
    const ids = g.input("ids", "int64", ["B", "T"]);
    const y = op.gather(emb, ids); // (B, T, 2)
    const r = ev(g, { emb: f32([4, 2], [0, 1, 10, 11, 20, 21, 30, 31]), ids: i64([1, 3], [2, -1, 0]) }, y);
    assert.deepEqual(
      [r.shape, vals(r)],
      [
        [1, 3, 2],
        [20, 21, 30, 31, 0, 1],
      ],
    );
    assert.throws(() => ev(g, { emb: f32([4, 2], new Array(8).fill(0)), ids: i64([1, 1], [4]) }, y), /out of range/);
  });

  it("gathers along an inner axis with int32 indices", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [2, 3]);
    const idx = g.input("idx", "int32", [2]);
    const r = ev(g, { x: f32([2, 3], [0, 1, 2, 3, 4, 5]), idx: i32([2], [2, 0]) }, op.gather(x, idx, 1));
    assert.deepEqual(
      [r.shape, vals(r)],
      [
        [2, 2],
        [2, 0, 5, 3],
      ],
    );
  });

  it("gathers elements (token log-probs by label)", () => {
    const g = new Graph();
    const lp = g.input("lp", "float32", [2, 3]);
    const lab = g.input("lab", "int64", [2, 1]);
    const r = ev(g, { lp: f32([2, 3], [0, 1, 2, 3, 4, 5]), lab: i64([2, 1], [1, -1]) }, op.gatherElements(lp, lab, 1));
    assert.deepEqual(
      [r.shape, vals(r)],
      [
        [2, 1],
        [1, 5],
      ],
    );
    const c = ev(g, { lp: f32([2, 3], [0, 1, 2, 3, 4, 5]), lab: i64([2, 1], [1, 0]) }, op.gatherElements(lp, op.reshape(lab, [1, 2]), 0));
    assert.deepEqual(vals(c), [3, 1]);
  });

  it("scatter-adds elements, accumulating duplicates", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [2, 3]);
    const idx = g.input("idx", "int64", [2, 2]);
    const upd = g.input("upd", "float32", [2, 2]);
    const y = op.scatterElementsAdd(x, idx, upd, 1);
    const r = ev(g, { x: f32([2, 3], [1, 1, 1, 1, 1, 1]), idx: i64([2, 2], [0, 0, -1, 1]), upd: f32([2, 2], [5, 6, 7, 8]) }, y);
    assert.deepEqual(
      [r.shape, vals(r)],
      [
        [2, 3],
        [12, 1, 1, 1, 9, 8],
      ],
    );
  });

  it("scatter-adds index tuples (embedding gradient) with ScatterNDAdd", () => {
    const g = new Graph();
    const table = g.input("table", "float32", [3, 2]);
    const ids = g.input("ids", "int64", ["N", 1]);
    const grads = g.input("grads", "float32", ["N", 2]);
    const y = op.scatterNDAdd(table, ids, grads);
    const r = ev(g, { table: f32([3, 2], new Array(6).fill(0)), ids: i64([3, 1], [2, 0, 2]), grads: f32([3, 2], [1, 2, 3, 4, 5, 6]) }, y);
    assert.deepEqual(
      [r.shape, vals(r)],
      [
        [3, 2],
        [3, 4, 0, 0, 6, 8],
      ],
    );
    // full-rank tuples address single elements
    const h = new Graph();
    const d = h.input("d", "float32", [2, 2]);
    const ix = h.input("ix", "int64", [2, 2]);
    const u = h.input("u", "float32", [2]);
    const s = ev(h, { d: f32([2, 2], [0, 0, 0, 0]), ix: i64([2, 2], [0, 1, -1, 0]), u: f32([2], [5, 7]) }, op.scatterNDAdd(d, ix, u));
    assert.deepEqual(vals(s), [0, 5, 7, 0]);
  });
});
