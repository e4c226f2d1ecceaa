// The fine-tuning methods as one record keyed by method, as the engine keys gradient rules by op: what
// each trains and what it produces. Plain data, no compute imports, so the control plane reads it too;
// each method's setup (fresh adapter or trainable base weights) is keyed the same way in method-setup.ts.

import type { PeftType } from "../adapters/index.ts";

export const METHOD_NAMES = ["tfew", "lora", "vanilla"] as const;
export type Method = (typeof METHOD_NAMES)[number];

export interface MethodInfo {
  /** what users read */
  label: string;
  /** the adapter kind it trains (PEFT type), or null: it trains the base model's own weights */
  adapter: PeftType | null;
  /** what a run produces: an adapter directory beside its base, or a whole model directory */
  artifact: "ADAPTER" | "FULL";
  /** T-Few's losses over answer choices (tfew-losses.ts) when the examples carry choices */
  choiceLosses: boolean;
}

export const METHODS: Readonly<Record<Method, MethodInfo>> = {
  tfew: { label: "T-Few", adapter: "IA3", artifact: "ADAPTER", choiceLosses: true },
  lora: { label: "LoRA", adapter: "LORA", artifact: "ADAPTER", choiceLosses: false },
  vanilla: { label: "vanilla", adapter: null, artifact: "FULL", choiceLosses: false },
};
