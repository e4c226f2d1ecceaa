// Weight formats of inference graphs: float32 as loaded, or the base projections quantized weight-only
// (int8 / int4 blockwise, ONNX Runtime's MatMulNBits) while norms, gathers and adapters stay float32.
// LinearQuantizer quantizes each (fused) projection once per graph build, from the float32 weights.

import { type QuantSpec, type QuantizedMatrix, checkQuantSpec, quantizeBlockwise } from "../../engine/index.ts";
import type { WeightMap } from "./weight-source.ts";

export const WEIGHT_FORMATS = ["f32", "int8", "int4"] as const;
export type WeightFormat = (typeof WEIGHT_FORMATS)[number];

/** How the base projections of a quantized format are stored and multiplied. */
export interface LinearQuantization extends QuantSpec {
  /**
   * MatMulNBits' accuracy level: 4 quantizes the activations to int8 per block too (the CPU kernel's fast
   * path; int8 weights at level 0 ran many times slower than float32 there), 0 dequantizes to float32
   */
  accuracyLevel: 0 | 4;
  /** quantize the LM head too (when tied, a quantized copy of the embedding; the gather stays float32) */
  lmHead: boolean;
}

/**
 * Each format's settings, chosen by measurement (src/serving/README.md, "Weight formats"): int8 in
 * asymmetric blocks of 16 with a float32 LM head is the one setting measured to keep every greedy output of
 * the bundled T-Few demo models unchanged (symmetric blocks, blocks of 32 or a quantized head each changed some).
 */
export const FORMAT_QUANTIZATION: Record<Exclude<WeightFormat, "f32">, LinearQuantization> = {
  int8: { bits: 8, blockSize: 16, symmetric: false, accuracyLevel: 4, lmHead: false },
  int4: { bits: 4, blockSize: 32, symmetric: false, accuracyLevel: 4, lmHead: false },
};

/** The quantization of a format (null for f32), with `overrides` applied and checked. */
export function quantizationOf(format: WeightFormat, overrides: Partial<LinearQuantization> = {}): LinearQuantization | null {
  if (format === "f32") {
    if (Object.keys(overrides).length) throw new RangeError("quantization settings given for f32 weights");
    return null;
  }
  const q = { ...FORMAT_QUANTIZATION[format], ...overrides };
  checkQuantSpec(q);
  if (q.accuracyLevel !== 0 && q.accuracyLevel !== 4) throw new RangeError(`accuracyLevel must be 0 or 4, not ${String(q.accuracyLevel)}`);
  return q;
}

/** Quantized (N, K) matrices of a model's projections, made on first request and reused. */
export class LinearQuantizer {
  private readonly made = new Map<string, QuantizedMatrix>();

  constructor(
    private readonly weights: WeightMap,
    readonly settings: LinearQuantization,
  ) {}

  /**
   * The weights `names` stacked along N — each (n_i, K) like nn.Linear's, or (K, n_i) with `transposed`
   * (GPT-2's Conv1D) — quantized as one matrix. Blocks run along K within a row, so stacking rows
   * quantizes each weight exactly as it would be alone. → (Σ n_i, K)
   */
  matrix(names: readonly string[], transposed = false): QuantizedMatrix {
    const key = `${transposed ? "T" : ""}${names.join("|")}`;
    const hit = this.made.get(key);
    if (hit) return hit;
    const parts = names.map((name) => {
      const w = this.weights.get(name);
      if (!w || w.shape.length !== 2) throw new Error(`weight '${name}' is not a loaded matrix`);
      const [r, c] = w.shape as [number, number];
      return transposed ? { n: c, k: r, data: transpose(w.data, r, c) } : { n: r, k: c, data: w.data };
    });
    const K = parts[0]!.k;
    if (parts.some((p) => p.k !== K)) throw new Error(`stacked weights ${names.join(", ")} differ in input size`);
    const N = parts.reduce((s, p) => s + p.n, 0);
    let stacked = parts[0]!.data; // (N, K)
    if (parts.length > 1) {
      stacked = new Float32Array(N * K);
      let at = 0;
      for (const p of parts) {
        stacked.set(p.data, at);
        at += p.data.length;
      }
    }
    const q = quantizeBlockwise(stacked, N, K, this.settings);
    this.made.set(key, q);
    return q;
  }
}

/** (r, c) row-major → (c, r) */
function transpose(a: Float32Array, r: number, c: number): Float32Array {
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = a[i * c + j]!;
  return out;
}
