// Test helper: runs a graph through onnxruntime (compile) and the float64 reference interpreter on
// generated feeds under several symbol bindings, and compares every output.

import assert from "node:assert/strict";
import { evalDim } from "../../../src/engine/ir/dim.ts";
import { type DType, allocTyped, isFloat } from "../../../src/engine/ir/dtype.ts";
import { Graph } from "../../../src/engine/ir/graph.ts";
import type { HostTensor } from "../../../src/engine/ir/host-tensor.ts";
import { hostToFloat64 } from "../../../src/engine/reference/host.ts";
import { numberToHalf } from "../../../src/engine/reference/float16.ts";
import { evaluate } from "../../../src/engine/reference/interpreter.ts";
import { compile } from "../../../src/engine/runtime/compile.ts";

export type Rng = () => number;
export type Gen = (n: number, rng: Rng) => number[];

export interface Case {
  name: string;
  /** declares inputs and outputs on g */
  build(g: Graph): void;
  /** value generators per input name (default: by dtype) */
  data?: Record<string, Gen>;
  bindings?: Array<Record<string, number>>;
  tol?: { rtol: number; atol: number };
}

export const DEFAULT_BINDINGS = [
  { B: 2, T: 3, P: 0 },
  { B: 1, T: 4, P: 2 },
];

/** mulberry32: deterministic feeds */
export function rngOf(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const uniform =
  (lo: number, hi: number): Gen =>
  (n, r) =>
    Array.from({ length: n }, () => lo + (hi - lo) * r());
export const ints =
  (lo: number, hi: number): Gen =>
  (n, r) =>
    Array.from({ length: n }, () => lo + Math.floor((hi - lo) * r()));
export const nonzeroInts =
  (m: number): Gen =>
  (n, r) =>
    ints(1, m + 1)(n, r).map((v) => (r() < 0.5 ? -v : v));
export const bools: Gen = (n, r) => Array.from({ length: n }, () => (r() < 0.5 ? 1 : 0));

export function hostOf(dtype: DType, shape: number[], values: number[]): HostTensor {
  const data = allocTyped(dtype, values.length);
  values.forEach((v, i) => {
    if (data instanceof BigInt64Array) data[i] = BigInt(v);
    else if (dtype === "float16") data[i] = numberToHalf(v);
    else data[i] = v;
  });
  return { dtype, shape, data };
}

export function feedsFor(g: Graph, bind: Record<string, number>, data: Record<string, Gen>, rng: Rng): Record<string, HostTensor> {
  const env = new Map(Object.entries(bind));
  const feeds: Record<string, HostTensor> = {};
  for (const n of g.inputNodes()) {
    const { name, dtype, shape } = n.attrs;
    const dims = shape.map((d) => evalDim(d, env));
    const count = dims.reduce((a, b) => a * b, 1);
    const gen = data[name] ?? (isFloat(dtype) ? uniform(-2, 2) : dtype === "bool" ? bools : ints(-4, 5));
    feeds[name] = hostOf(dtype, dims, gen(count, rng));
  }
  return feeds;
}

function close(got: Float64Array, want: Float64Array, dtype: DType, tol: { rtol: number; atol: number }, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (Number.isNaN(w) && Number.isNaN(g)) continue;
    if (!isFloat(dtype) || !Number.isFinite(w)) {
      assert.equal(g, w, `${what}[${i}]: onnxruntime ${g}, reference ${w}`);
      continue;
    }
    const ok = Math.abs(g - w) <= tol.atol + tol.rtol * Math.abs(w);
    assert.ok(ok, `${what}[${i}]: onnxruntime ${g}, reference ${w}`);
  }
}

/** Compiles once, then compares onnxruntime with the reference under each binding. */
export async function checkCase(c: Case, seed = 1): Promise<void> {
  const g = new Graph();
  c.build(g);
  const m = await compile(g, { intraOpThreads: 1 });
  const rng = rngOf(seed);
  try {
    for (const bind of c.bindings ?? DEFAULT_BINDINGS) {
      const feeds = feedsFor(g, bind, c.data ?? {}, rng);
      const got = await m.run(feeds);
      const want = evaluate(g, feeds);
      const shapes = m.outputShapes(feeds);
      for (const [name, w] of Object.entries(want)) {
        const o = got[name]!;
        const what = `${c.name} ${JSON.stringify(bind)} output '${name}'`;
        assert.equal(o.dtype, w.dtype, `${what}: dtype`);
        assert.deepEqual(o.shape, [...w.shape], `${what}: shape`);
        assert.deepEqual(shapes[name], [...w.shape], `${what}: predicted shape`);
        const half = o.dtype === "float16" || g.outputs.get(name)!.node.inputs.some((t) => t.dtype === "float16");
        const tol = c.tol ?? (half ? { rtol: 4e-3, atol: 4e-3 } : { rtol: 1e-5, atol: 1e-5 });
        close(hostToFloat64(o), w.data, o.dtype, tol, what);
      }
    }
  } finally {
    await m.dispose();
  }
}
