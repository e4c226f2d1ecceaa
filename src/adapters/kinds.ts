// The adapter kinds as records keyed by PEFT type, as the engine keys gradient rules by op: what an adapter
// of the kind holds per module and how it changes a projection. A kind added to PeftConfig fails to
// compile until it has its record here (and in serving's KIND_TABLES and training's method records).

import { type Tensor, op } from "../engine/index.ts";
import type { LinearModule, ModelConfig, ModelHooks } from "../models/index.ts";
import { expectedAdapterTensors } from "./adapter.ts";
import { ia3Hooks } from "./ia3.ts";
import { loraHooks } from "./lora.ts";
import { type PeftConfig, matchesModule, peftKey } from "./peft-config.ts";

export type PeftType = PeftConfig["peft_type"];
type ConfigOf<K extends PeftType> = Extract<PeftConfig, { peft_type: K }>;

/** Sprig's short names of the kinds (serving tables, stats, hosted model kinds). */
export type AdapterKindName = "ia3" | "lora";

/** The PEFT tensors of one adapted module. */
export interface ModuleTensors {
  /** IA3: scale the input (feedforward) rather than the output */
  scalesInput: boolean;
  tensors: Array<{ key: string; shape: number[] }>;
}

export interface AdapterKind<C extends PeftConfig = PeftConfig> {
  readonly name: AdapterKindName;
  /** what users read, e.g. in refusals */
  readonly label: string;
  /** the tensors of module `m` (one the config targets) */
  moduleTensors(m: LinearModule, config: C): ModuleTensors;
  /**
   * Graph hooks applying an adapter of `config`: `tensor(key, shape)` supplies each PEFT tensor in its PEFT
   * shape (a trainable input, a constant); `dropout(path, x)` masks the adapter's input where the kind has one.
   */
  hooks(
    model: ModelConfig,
    config: C,
    tensor: (key: string, shape: number[]) => Tensor,
    dropout?: (path: string, x: Tensor) => Tensor,
  ): ModelHooks;
}

export const ADAPTER_KINDS: { readonly [K in PeftType]: AdapterKind<ConfigOf<K>> } = {
  IA3: {
    name: "ia3",
    label: "T-Few",
    moduleTensors: (m, c) => {
      const ff = matchesModule(m.path, c.feedforward_modules);
      return { scalesInput: ff, tensors: [{ key: peftKey(m.path, "ia3_l"), shape: ff ? [1, m.inFeatures] : [m.outFeatures, 1] }] };
    },
    hooks: (model, c, tensor) => {
      // the hook takes each vector flat (n); PEFT stores it (out, 1) or (1, in)
      const shapes = expectedAdapterTensors(model, c);
      return ia3Hooks(model, c, (key, n) => op.reshape(tensor(key, shapes.get(key)!), [n]));
    },
  },
  LORA: {
    name: "lora",
    label: "LoRA",
    moduleTensors: (m, c) => ({
      scalesInput: false,
      tensors: [
        { key: peftKey(m.path, "lora_A.weight"), shape: [c.r, m.inFeatures] },
        { key: peftKey(m.path, "lora_B.weight"), shape: [m.outFeatures, c.r] },
      ],
    }),
    hooks: (model, c, tensor, dropout) => loraHooks(model, c, tensor, dropout),
  },
};

/** The record of `config`'s kind, typed for that config. */
export function adapterKind<C extends PeftConfig>(config: C): AdapterKind<C> {
  // TypeScript does not correlate ADAPTER_KINDS[config.peft_type] with C; the mapped type above does
  return ADAPTER_KINDS[config.peft_type] as unknown as AdapterKind<C>;
}

/** The kinds in a fixed order: serving's tables wrap a projection IA3 first, then LoRA (whose update reads the unscaled input). */
export const KIND_ORDER: readonly PeftType[] = ["IA3", "LORA"];
