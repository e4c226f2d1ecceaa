// T-Few's (IA)³: learned vectors that rescale the outputs of the key/value projections and the input of
// the feed-forward down projection. All start at 1, so a fresh adapter is the base model exactly.

import { type Tensor, op } from "../engine/index.ts";
import type { WeightMap } from "../models/index.ts";
import type { ModelConfig, ModelHooks } from "../models/index.ts";
import { type Adapter, adaptedModules } from "./adapter.ts";
import type { Ia3Config } from "./peft-config.ts";

/** PEFT's defaults for (IA)³ on each family (GPT-2: the fused c_attn output — q, k and v — as PEFT does). */
export function defaultIa3Config(model: ModelConfig, baseModel: string | null = null): Ia3Config {
  const gpt2 = model.family === "gpt2";
  return {
    peft_type: "IA3",
    target_modules: gpt2 ? ["c_attn", "mlp.c_proj"] : ["k_proj", "v_proj", "down_proj"],
    feedforward_modules: gpt2 ? ["mlp.c_proj"] : ["down_proj"],
    base_model_name_or_path: baseModel,
    fan_in_fan_out: gpt2,
    task_type: "CAUSAL_LM",
  };
}

export function createIa3(model: ModelConfig, config: Ia3Config = defaultIa3Config(model)): Adapter {
  const tensors = new Map(
    adaptedModules(model, config).flatMap((a) =>
      a.tensors.map((t) => [t.key, { shape: t.shape, data: new Float32Array(t.shape[0]! * t.shape[1]!).fill(1) }] as const),
    ),
  );
  return { config, tensors };
}

/**
 * Graph hooks applying (IA)³ vectors. `vector(key, n)` supplies each vector as a (n) tensor — a trainable
 * input, a constant, or a per-row gathered table (B, 1, n) for multi-adapter serving.
 */
export function ia3Hooks(model: ModelConfig, config: Ia3Config, vector: (key: string, n: number) => Tensor): ModelHooks {
  const byPath = new Map(adaptedModules(model, config).map((a) => [a.module.path, a]));
  return {
    projection: ({ path, x, base }) => {
      const a = byPath.get(path);
      if (!a) return base(x);
      const key = a.tensors[0]!.key;
      if (a.scalesInput) return base(op.mul(x, vector(key, a.module.inFeatures))); // x: (B, T, in)
      return op.mul(base(x), vector(key, a.module.outFeatures)); // (B, T, out)
    },
  };
}

/** Base weights with the adapter folded in (HF layouts: Linear (out, in), Conv1D (in, out)). */
export function mergeIa3(model: ModelConfig, weights: WeightMap, adapter: Adapter): WeightMap {
  if (adapter.config.peft_type !== "IA3") throw new Error("mergeIa3: not an IA3 adapter");
  const out = new Map(weights);
  for (const a of adaptedModules(model, adapter.config)) {
    const l = adapter.tensors.get(a.tensors[0]!.key)!.data;
    const w = weights.get(`${a.module.path}.weight`)!;
    const [rows, cols] = w.shape as [number, number];
    const data = Float32Array.from(w.data);
    // which axis of the stored weight carries the scaled features
    const alongRows = a.module.conv1d ? a.scalesInput : !a.scalesInput;
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[r * cols + c]! *= l[alongRows ? r : c]!;
    out.set(`${a.module.path}.weight`, { shape: w.shape, data });
    const b = weights.get(`${a.module.path}.bias`);
    if (b && !a.scalesInput) out.set(`${a.module.path}.bias`, { shape: b.shape, data: b.data.map((v, i) => v * l[i]!) });
  }
  return out;
}
