// LoRA: a low-rank update ΔW = (alpha / r) · B A beside chosen projections. A starts random, B at zero,
// so a fresh adapter is the base model exactly.

import { Rng, type Tensor, op } from "../engine/index.ts";
import type { WeightMap } from "../models/index.ts";
import type { ModelConfig, ModelHooks } from "../models/index.ts";
import { type Adapter, adaptedModules } from "./adapter.ts";
import type { LoraConfig } from "./peft-config.ts";

export interface LoraOptions {
  r: number;
  alpha: number;
  dropout: number;
  /** module names (PEFT matching); default: the attention q and v projections */
  targetModules?: string[];
}

export function loraConfig(model: ModelConfig, o: LoraOptions, baseModel: string | null = null): LoraConfig {
  const gpt2 = model.family === "gpt2";
  return {
    peft_type: "LORA",
    target_modules: o.targetModules ?? (gpt2 ? ["c_attn"] : ["q_proj", "v_proj"]),
    r: o.r,
    lora_alpha: o.alpha,
    lora_dropout: o.dropout,
    base_model_name_or_path: baseModel,
    fan_in_fan_out: gpt2,
    bias: "none",
    use_rslora: false,
    use_dora: false,
    task_type: "CAUSAL_LM",
  };
}

/** PEFT's init: A ~ U(-1/√in, 1/√in) (kaiming-uniform with a = √5), B = 0. */
export function createLora(model: ModelConfig, config: LoraConfig, seed: number): Adapter {
  const rng = new Rng(seed);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const a of adaptedModules(model, config)) {
    const [ka, kb] = a.tensors;
    const bound = 1 / Math.sqrt(a.module.inFeatures);
    tensors.set(ka!.key, { shape: ka!.shape, data: rng.uniformArray(ka!.shape[0]! * ka!.shape[1]!, -bound, bound) });
    tensors.set(kb!.key, { shape: kb!.shape, data: new Float32Array(kb!.shape[0]! * kb!.shape[1]!) });
  }
  return { config, tensors };
}

export const loraScale = (c: LoraConfig): number => (c.use_rslora ? c.lora_alpha / Math.sqrt(c.r) : c.lora_alpha / c.r);

/**
 * Graph hooks adding x Aᵀ Bᵀ · scale to each adapted projection. `matrix(key, shape)` supplies A (r, in)
 * and B (out, r); `dropout(path, x)` (training) masks the adapter's input.
 */
export function loraHooks(
  model: ModelConfig,
  config: LoraConfig,
  matrix: (key: string, shape: number[]) => Tensor,
  dropout?: (path: string, x: Tensor) => Tensor,
): ModelHooks {
  if (config.use_dora) throw new Error("LoRA: DoRA adapters are not supported");
  const byPath = new Map(adaptedModules(model, config).map((a) => [a.module.path, a]));
  const scale = loraScale(config);
  return {
    projection: ({ path, x, base }) => {
      const a = byPath.get(path);
      if (!a) return base(x);
      const [ka, kb] = a.tensors;
      const A = matrix(ka!.key, ka!.shape); // (r, in)
      const B = matrix(kb!.key, kb!.shape); // (out, r)
      const xin = dropout ? dropout(path, x) : x; // (B, T, in)
      const low = op.matmul(op.matmul(xin, op.transpose(A, [1, 0])), op.transpose(B, [1, 0])); // (B, T, out)
      return op.add(base(x), op.mul(low, scale));
    },
  };
}

/** Base weights with ΔW folded in. */
export function mergeLora(model: ModelConfig, weights: WeightMap, adapter: Adapter): WeightMap {
  if (adapter.config.peft_type !== "LORA") throw new Error("mergeLora: not a LoRA adapter");
  const scale = loraScale(adapter.config);
  const r = adapter.config.r;
  const out = new Map(weights);
  for (const a of adaptedModules(model, adapter.config)) {
    const A = adapter.tensors.get(a.tensors[0]!.key)!.data; // (r, in)
    const B = adapter.tensors.get(a.tensors[1]!.key)!.data; // (out, r)
    const w = weights.get(`${a.module.path}.weight`)!;
    const data = Float32Array.from(w.data);
    const nIn = a.module.inFeatures;
    const nOut = a.module.outFeatures;
    for (let o = 0; o < nOut; o++) {
      for (let i = 0; i < nIn; i++) {
        let s = 0;
        for (let k = 0; k < r; k++) s += B[o * r + k]! * A[k * nIn + i]!;
        data[a.module.conv1d ? i * nOut + o : o * nIn + i]! += scale * s;
      }
    }
    out.set(`${a.module.path}.weight`, { shape: w.shape, data });
  }
  return out;
}
