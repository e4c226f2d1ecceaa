// Autodiff behaviour beyond single ops: stop-gradient, fan-out accumulation, unused inputs, errors.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Graph, GraphError, f32, grad, op } from "../../../src/engine/index.ts";
import { evaluate } from "../../../src/engine/reference/index.ts";

const x3 = () => f32([3], [1, -2, 3]);

test("stopGradient: d(x·sg(x))/dx = sg(x), not 2x", () => {
  const g = new Graph();
  const x = g.input("x", "float32", [3]);
  const [gx] = grad(op.sum(op.mul(x, op.stopGradient(x))), [x]);
  assert.deepEqual([...evaluate(g, { x: x3() }, [gx!])[0]!.data], [1, -2, 3]);
});

test("fan-out: gradients from every use are summed", () => {
  const g = new Graph();
  const x = g.input("x", "float32", [3]);
  const y = op.add(op.mul(x, x), op.mul(x, 3)); // dy/dx = 2x + 3
  const [gx] = grad(op.sum(y), [x]);
  assert.deepEqual([...evaluate(g, { x: x3() }, [gx!])[0]!.data], [5, -1, 9]);
});

test("an input the loss does not use gets zeros of its shape", () => {
  const g = new Graph();
  const x = g.input("x", "float32", [3]);
  const u = g.input("u", "float32", [2, 2]);
  const [gu] = grad(op.sum(x), [u]);
  const r = evaluate(g, { x: x3(), u: f32([2, 2], [1, 2, 3, 4]) }, [gu!])[0]!;
  assert.deepEqual([...r.shape], [2, 2]);
  assert.deepEqual([...r.data], [0, 0, 0, 0]);
});

test("grad of a non-scalar needs a seed; int tensors are refused", () => {
  const g = new Graph();
  const x = g.input("x", "float32", [3]);
  const ids = g.input("ids", "int64", [3]);
  assert.throws(() => grad(op.mul(x, 2), [x]), GraphError);
  assert.throws(() => grad(op.sum(x), [ids]), /int64/);
  const [gx] = grad(op.mul(x, 2), [x], { seed: g.input("seed", "float32", [3]) });
  assert.deepEqual([...evaluate(g, { x: x3(), seed: f32([3], [1, 10, 100]) }, [gx!])[0]!.data], [2, 20, 200]);
});

test("a missing rule is an error naming the op", () => {
  const g = new Graph();
  const x = g.input("x", "float32", [4, 2]);
  const idx = g.input("i", "int64", [2, 1]);
  const u = g.input("u", "float32", [2, 2]);
  const y = op.scatterNDAdd(x, idx, u);
  assert.throws(() => grad(op.sum(y), [u]), /ScatterNDAdd/);
});
