// A base model's fingerprint: what sprig_adapter.json's `baseFingerprint` records, so that an adapter
// is only ever applied to the base it was trained on (same shapes are not enough: two bases of one
// architecture have identical adapter shapes).

import { createHash } from "node:crypto";
import type { ModelConfig } from "../models/index.ts";
import type { WeightMap } from "../models/index.ts";

/** values hashed per tensor, evenly strided: enough to tell bases apart, cheap for multi-GB models */
const SAMPLES_PER_TENSOR = 65536;

/**
 * "v1:" + sha256 over the architecture fields of the config and, per weight (sorted by name), its name,
 * shape and up to 65536 evenly strided float32 values (exact bits; all values for small tensors).
 * Independent of the checkpoint's storage dtype and sharding, since weights are compared as float32.
 */
export function baseFingerprint(config: ModelConfig, weights: WeightMap): string {
  const h = createHash("sha256");
  const arch = {
    family: config.family,
    vocabSize: config.vocabSize,
    hiddenSize: config.hiddenSize,
    numLayers: config.numLayers,
    numHeads: config.numHeads,
    numKvHeads: config.numKvHeads,
    headDim: config.headDim,
    intermediateSize: config.intermediateSize,
    tieWordEmbeddings: config.tieWordEmbeddings,
  };
  h.update(JSON.stringify(arch));
  for (const name of [...weights.keys()].sort()) {
    const w = weights.get(name)!;
    h.update(`\n${name}[${w.shape.join(",")}]`);
    const n = w.data.length;
    if (n <= SAMPLES_PER_TENSOR) {
      h.update(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength));
      continue;
    }
    const sample = new Float32Array(SAMPLES_PER_TENSOR);
    const stride = n / SAMPLES_PER_TENSOR;
    for (let i = 0; i < SAMPLES_PER_TENSOR; i++) sample[i] = w.data[Math.floor(i * stride)]!;
    h.update(new Uint8Array(sample.buffer));
  }
  return `v1:${h.digest("hex")}`;
}
