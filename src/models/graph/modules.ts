// The linear projections of each family, with their Hugging Face paths and sizes: what adapters attach to.

import type { ModelConfig } from "../io/hf-config.ts";

export interface LinearModule {
  /** full HF module path, e.g. "model.layers.3.self_attn.k_proj" */
  path: string;
  layer: number;
  /** name within the layer, e.g. "self_attn.k_proj" */
  module: string;
  inFeatures: number;
  outFeatures: number;
  /** GPT-2's Conv1D stores its weight as [in, out] (PEFT's fan_in_fan_out) */
  conv1d: boolean;
}

export function linearModules(c: ModelConfig): LinearModule[] {
  const out: LinearModule[] = [];
  const C = c.hiddenSize;
  for (let l = 0; l < c.numLayers; l++) {
    const add = (prefix: string, module: string, i: number, o: number, conv1d: boolean) =>
      out.push({ path: `${prefix}.${module}`, layer: l, module, inFeatures: i, outFeatures: o, conv1d });
    if (c.family === "gpt2") {
      const p = `transformer.h.${l}`;
      add(p, "attn.c_attn", C, 3 * C, true);
      add(p, "attn.c_proj", C, C, true);
      add(p, "mlp.c_fc", C, c.intermediateSize, true);
      add(p, "mlp.c_proj", c.intermediateSize, C, true);
    } else {
      const p = `model.layers.${l}`;
      const q = c.numHeads * c.headDim;
      const kv = c.numKvHeads * c.headDim;
      add(p, "self_attn.q_proj", C, q, false);
      add(p, "self_attn.k_proj", C, kv, false);
      add(p, "self_attn.v_proj", C, kv, false);
      add(p, "self_attn.o_proj", q, C, false);
      add(p, "mlp.gate_proj", C, c.intermediateSize, false);
      add(p, "mlp.up_proj", C, c.intermediateSize, false);
      add(p, "mlp.down_proj", c.intermediateSize, C, false);
    }
  }
  return out;
}
