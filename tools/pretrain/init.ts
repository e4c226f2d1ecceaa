// Seeded random initialisation of a Llama checkpoint: N(0, 0.02) for embeddings and projections, the
// residual-branch outputs (o_proj, down_proj) scaled by 1/sqrt(2·layers) as in GPT-2, norm weights 1.

import { Rng } from "../../src/engine/index.ts";
import type { ModelConfig } from "../../src/models/index.ts";
import { expectedTensors } from "../../src/models/io/weights.ts";

export interface HostWeight {
  shape: number[];
  data: Float32Array;
}

export function initWeights(config: ModelConfig, seed: number, std = 0.02): Map<string, HostWeight> {
  const rng = new Rng(seed);
  const out = new Map<string, HostWeight>();
  const residualStd = std / Math.sqrt(2 * config.numLayers);
  // sorted names: the draw order (hence every value) depends only on the seed and the shapes
  for (const [name, shape] of [...expectedTensors(config)].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
    const n = shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (name.endsWith("norm.weight")) data = new Float32Array(n).fill(1);
    else if (/\.(o_proj|down_proj)\.weight$/.test(name)) data = rng.normalArray(n, residualStd);
    else data = rng.normalArray(n, std);
    out.set(name, { shape, data });
  }
  return out;
}

export const paramCount = (w: ReadonlyMap<string, HostWeight>): number => [...w.values()].reduce((a, t) => a + t.data.length, 0);
