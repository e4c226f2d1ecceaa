// Blockwise quantization against numpy goldens (tools/golden/make_quant_golden.py): codes, scales and zero
// points bit for bit, the dequantized weight, and x @ dequant(W)ᵀ through ONNX Runtime's MatMulNBits.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { Graph, compile, op } from "../../../src/engine/index.ts";
import { type QuantSpec, dequantizeBlockwise, quantizeBlockwise, quantizedBytes } from "../../../src/engine/quant/blockwise.ts";

interface GoldenCase extends QuantSpec {
  name: string;
  N: number;
  K: number;
  w: number[];
  x: number[];
  packed: number[];
  scales: number[];
  zeroPoints: number[] | null;
  dequantized: number[];
  y: number[];
}

const golden = JSON.parse(readFileSync(new URL("../../fixtures/quant/blockwise.json", import.meta.url), "utf8")) as { cases: GoldenCase[] };

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

describe("blockwise quantization (MatMulNBits layout) vs numpy goldens", () => {
  assert.ok(golden.cases.length >= 5);
  for (const c of golden.cases) {
    const spec: QuantSpec = { bits: c.bits, blockSize: c.blockSize, symmetric: c.symmetric };
    const q = quantizeBlockwise(Float32Array.from(c.w), c.N, c.K, spec);

    it(`${c.name}: codes, scales and zero points equal the golden's`, () => {
      assert.deepEqual([...q.packed], c.packed);
      assert.deepEqual([...q.scales], c.scales);
      assert.deepEqual(q.zeroPoints && [...q.zeroPoints], c.zeroPoints);
      assert.equal(quantizedBytes(c.N, c.K, spec), q.packed.length + 4 * q.scales.length + (q.zeroPoints?.length ?? 0));
    });

    it(`${c.name}: dequantized weight and its error bound`, () => {
      const d = dequantizeBlockwise(q);
      assert.ok(maxAbsDiff(d, c.dequantized) < 1e-12);
      // round to nearest: each weight within half a step of its block's scale
      const nb = Math.ceil(c.K / c.blockSize);
      for (let n = 0; n < c.N; n++)
        for (let k = 0; k < c.K; k++) {
          const s = q.scales[n * nb + Math.floor(k / c.blockSize)]!;
          assert.ok(Math.abs(d[n * c.K + k]! - c.w[n * c.K + k]!) <= s / 2 + 1e-9, `${c.name} (${n}, ${k})`);
        }
    });

    it(`${c.name}: ONNX Runtime MatMulNBits gives x @ dequant(W)ᵀ`, async () => {
      const g = new Graph();
      g.output("y", op.matmulNBits(g.input("x", "float32", [3, c.K]), q, "w"));
      const m = await compile(g, { intraOpThreads: 1 });
      try {
        const out = await m.run({ x: { dtype: "float32", shape: [3, c.K], data: Float32Array.from(c.x) } });
        assert.deepEqual(out.y!.shape, [3, c.N]);
        assert.ok(maxAbsDiff(out.y!.data as Float32Array, c.y) < 1e-5);
      } finally {
        await m.dispose();
      }
    });
  }

  it("refuses specs MatMulNBits cannot run", () => {
    const w = new Float32Array(32);
    assert.throws(() => quantizeBlockwise(w, 1, 32, { bits: 8, blockSize: 24, symmetric: true }), /power of two/);
    assert.throws(() => quantizeBlockwise(w, 1, 32, { bits: 8, blockSize: 8, symmetric: true }), /power of two ≥ 16/);
    assert.throws(() => quantizeBlockwise(w, 1, 32, { bits: 2 as 4, blockSize: 16, symmetric: true }), /bits must be 4 or 8/);
    assert.throws(() => quantizeBlockwise(w, 2, 32, { bits: 8, blockSize: 16, symmetric: true }), /values for a \(2, 32\)/);
  });
});
