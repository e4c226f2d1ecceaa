// An adapter in memory: its PEFT config and its tensors under PEFT key names, in PEFT shapes.

import type { HostWeight } from "../models/graph/weight-source.ts";
import { type LinearModule, type ModelConfig, linearModules } from "../models/index.ts";
import { type PeftConfig, matchesModule, peftKey } from "./peft-config.ts";

export interface Adapter {
  config: PeftConfig;
  /** PEFT key → tensor (ia3_l: (out, 1) or (1, in); lora_A: (r, in); lora_B: (out, r)) */
  tensors: Map<string, HostWeight>;
}

/** One adapted module: where it is, and the PEFT keys and shapes of its tensors. */
export interface AdaptedModule {
  module: LinearModule;
  /** IA3: scale the input (feedforward) rather than the output */
  scalesInput: boolean;
  tensors: Array<{ key: string; shape: number[] }>;
}

export function adaptedModules(model: ModelConfig, config: PeftConfig): AdaptedModule[] {
  const out: AdaptedModule[] = [];
  for (const m of linearModules(model)) {
    if (!matchesModule(m.path, config.target_modules)) continue;
    if (config.peft_type === "IA3") {
      const ff = matchesModule(m.path, config.feedforward_modules);
      out.push({ module: m, scalesInput: ff, tensors: [{ key: peftKey(m.path, "ia3_l"), shape: ff ? [1, m.inFeatures] : [m.outFeatures, 1] }] });
    } else {
      out.push({
        module: m,
        scalesInput: false,
        tensors: [
          { key: peftKey(m.path, "lora_A.weight"), shape: [config.r, m.inFeatures] },
          { key: peftKey(m.path, "lora_B.weight"), shape: [m.outFeatures, config.r] },
        ],
      });
    }
  }
  return out;
}

/** Expected PEFT keys and shapes of an adapter for `model`. */
export function expectedAdapterTensors(model: ModelConfig, config: PeftConfig): Map<string, number[]> {
  return new Map(adaptedModules(model, config).flatMap((a) => a.tensors.map((t) => [t.key, t.shape] as const)));
}

/** Trainable values in an adapter. */
export function adapterParameterCount(a: Adapter): number {
  let n = 0;
  for (const t of a.tensors.values()) n += t.data.length;
  return n;
}
