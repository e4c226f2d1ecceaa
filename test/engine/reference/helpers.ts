// Shared helpers for the reference interpreter tests: one-output evaluation and approximate comparison.

import assert from "node:assert/strict";
import { Graph, type Tensor } from "../../../src/engine/ir/graph.ts";
import { type Feeds, type NDArray, evaluate } from "../../../src/engine/reference/index.ts";

/** Evaluate a single tensor of `g`. */
export function ev(g: Graph, feeds: Feeds, t: Tensor): NDArray {
  return evaluate(g, feeds, [t])[0]!;
}

export const vals = (a: NDArray): number[] => Array.from(a.data);

export function assertClose(actual: ArrayLike<number>, expected: readonly number[], tol = 1e-12): void {
  assert.equal(actual.length, expected.length, `length ${actual.length} vs ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e))) continue;
    assert.ok(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)), `[${i}]: ${a} vs ${e} (all: ${Array.from(actual)})`);
  }
}

export { Graph };
