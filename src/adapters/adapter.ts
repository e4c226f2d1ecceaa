// An adapter in memory: its PEFT config and its tensors under PEFT key names, in PEFT shapes.

import type { HostWeight } from "../models/index.ts";
import { type LinearModule, type ModelConfig, linearModules } from "../models/index.ts";
import { type ModuleTensors, adapterKind } from "./kinds.ts";
import { type PeftConfig, matchesModule } from "./peft-config.ts";

export interface Adapter {
  config: PeftConfig;
  /** PEFT key → tensor (ia3_l: (out, 1) or (1, in); lora_A: (r, in); lora_B: (out, r)) */
  tensors: Map<string, HostWeight>;
}

/** One adapted module: where it is, and the PEFT keys and shapes of its tensors. */
export interface AdaptedModule extends ModuleTensors {
  module: LinearModule;
}

export function adaptedModules(model: ModelConfig, config: PeftConfig): AdaptedModule[] {
  const kind = adapterKind(config);
  return linearModules(model)
    .filter((m) => matchesModule(m.path, config.target_modules))
    .map((m) => ({ module: m, ...kind.moduleTensors(m, config) }));
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
