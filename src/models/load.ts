// A Hugging Face model directory, loaded: validated config, every weight in float32, tokenizer if present.

import { type ModelConfig, loadHfConfig } from "./io/hf-config.ts";
import { type SprigTokenizer, loadTokenizer } from "./io/tokenizer.ts";
import { type WeightTensor, loadWeights } from "./io/weights.ts";

export interface LoadedModel {
  dir: string;
  config: ModelConfig;
  weights: Map<string, WeightTensor>;
  /** null for a directory without tokenizer.json (work through token ids) */
  tokenizer: SprigTokenizer | null;
}

export async function loadModel(dir: string): Promise<LoadedModel> {
  const config = await loadHfConfig(dir);
  const weights = await loadWeights(dir, config);
  return { dir, config, weights, tokenizer: loadTokenizer(dir) };
}

/** Bytes of the base weights as loaded (float32). */
export function weightBytes(m: LoadedModel): number {
  let n = 0;
  for (const w of m.weights.values()) n += w.data.byteLength;
  return n;
}
