// The continuous-batching KV cache: width buckets, re-layout keeping every row's positions, compaction
// by moving a slot, writes from a step over other rows, and views that share memory.

import assert from "node:assert/strict";
import { test } from "node:test";
import { CAPACITY_STEP, SlotCache, capacityFor, widthFor } from "../../src/serving/hosting/slot-cache.ts";

test("widths are 1, 2, 4, 8 and then multiples of 8; capacities are steps of 32 up to the context", () => {
  assert.deepEqual([0, 1, 2, 3, 5, 8, 9, 16, 17, 63].map(widthFor), [0, 1, 2, 4, 8, 8, 16, 16, 24, 64]);
  assert.equal(capacityFor(1, 2048), CAPACITY_STEP);
  assert.equal(capacityFor(33, 2048), 64);
  assert.equal(capacityFor(100, 64), 64);
});

/** a value that encodes (layer, kind, position, slot, i) so misplaced copies are caught */
const tag = (l: number, kind: number, p: number, slot: number, i: number) => l * 1e6 + kind * 1e5 + p * 1e3 + slot * 10 + i;

function fill(c: SlotCache, rows: number, positions: number): void {
  const w = c.rowFloats;
  for (let l = 0; l < c.layers; l++) {
    for (const [kind, arr] of [c.keys[l]!, c.values[l]!].entries()) {
      for (let p = 0; p < positions; p++)
        for (let s = 0; s < rows; s++) for (let i = 0; i < w; i++) arr[(p * c.width + s) * w + i] = tag(l, kind, p, s, i);
    }
  }
}

function at(c: SlotCache, l: number, kind: number, p: number, slot: number, i: number): number {
  return (kind === 0 ? c.keys[l]! : c.values[l]!)[(p * c.width + slot) * c.rowFloats + i]!;
}

test("resize keeps each kept slot's used positions; width 0 frees", () => {
  const c = new SlotCache(2, 1, 2);
  c.resize(4, 8, 0);
  fill(c, 3, 5);
  c.resize(8, 16, 5); // wider and longer
  assert.equal(c.bytes, 8 * 16 * 2 * 2 * 2 * 4);
  for (let p = 0; p < 5; p++) for (let s = 0; s < 3; s++) assert.equal(at(c, 1, 1, p, s, 1), tag(1, 1, p, s, 1));
  assert.equal(at(c, 0, 0, 5, 0, 0), 0, "positions past the used ones start empty");
  c.resize(2, 16, 5); // narrower: slots 0 and 1 survive
  for (let p = 0; p < 5; p++) for (let s = 0; s < 2; s++) assert.equal(at(c, 0, 0, p, s, 0), tag(0, 0, p, s, 0));
  assert.throws(() => c.resize(2, 4, 5), /exceed the new capacity/);
  c.resize(0, 0, 0);
  assert.equal(c.bytes, 0);
  assert.equal(c.keys.length, 0);
});

test("moveSlot copies a row's positions; write places a step's rows; view shares memory", () => {
  const c = new SlotCache(1, 1, 2);
  c.resize(4, 8, 0);
  fill(c, 4, 6);
  c.moveSlot(3, 1, 4);
  for (let p = 0; p < 4; p++) assert.equal(at(c, 0, 1, p, 1, 1), tag(0, 1, p, 3, 1));
  assert.equal(at(c, 0, 1, 4, 1, 1), tag(0, 1, 4, 1, 1), "positions past len are left alone");
  // a prefill over 2 rows of T = 3: row 0 → slot 2 (3 tokens), row 1 → slot 0 (2 tokens) at position 6
  const present = Float32Array.from({ length: 3 * 2 * 2 }, (_, k) => 9000 + k); // (T, B, KVH·D)
  c.write("key", 0, present, 3, 2, [
    { from: 0, slot: 2, start: 0, count: 3 },
    { from: 1, slot: 0, start: 6, count: 2 },
  ]);
  assert.deepEqual([at(c, 0, 0, 0, 2, 0), at(c, 0, 0, 2, 2, 1)], [9000, 9000 + (2 * 2 + 0) * 2 + 1]);
  assert.deepEqual([at(c, 0, 0, 6, 0, 0), at(c, 0, 0, 7, 0, 1)], [9000 + 2, 9000 + (1 * 2 + 1) * 2 + 1]);
  assert.throws(() => c.write("key", 0, present, 3, 2, [{ from: 0, slot: 1, start: 7, count: 3 }]), /exceed its capacity/);
  const v = c.view("value", 0, 3);
  assert.deepEqual(v.shape, [3, 4, 1, 2]);
  assert.equal(v.data.buffer, c.values[0]!.buffer, "zero-copy");
});
