// PEFT's adapter_config.json: the subset Sprig reads and writes, validated. PEFT writes many more keys;
// those are accepted on read and ignored.

import { z } from "zod";

export const Ia3ConfigSchema = z.object({
  peft_type: z.literal("IA3"),
  /** module names; a module matches when its path equals a name or ends with "." + name */
  target_modules: z.union([z.array(z.string()), z.string()]),
  /** the subset of targets whose input (not output) is scaled */
  feedforward_modules: z
    .union([z.array(z.string()), z.string()])
    .nullable()
    .default([]),
  base_model_name_or_path: z.string().nullable().optional(),
  fan_in_fan_out: z.boolean().default(false),
  task_type: z.string().nullable().optional(),
});

export const LoraConfigSchema = z.object({
  peft_type: z.literal("LORA"),
  target_modules: z.union([z.array(z.string()), z.string()]),
  /** rank */
  r: z.number().int().positive(),
  /** scaling numerator: ΔW = (alpha / r) · B A */
  lora_alpha: z.number().positive(),
  lora_dropout: z.number().min(0).max(1).default(0),
  base_model_name_or_path: z.string().nullable().optional(),
  fan_in_fan_out: z.boolean().default(false),
  bias: z.string().default("none"),
  use_rslora: z.boolean().default(false),
  use_dora: z.boolean().default(false),
  task_type: z.string().nullable().optional(),
});

export const PeftConfigSchema = z.discriminatedUnion("peft_type", [Ia3ConfigSchema, LoraConfigSchema]);

export type Ia3Config = z.infer<typeof Ia3ConfigSchema>;
export type LoraConfig = z.infer<typeof LoraConfigSchema>;
export type PeftConfig = z.infer<typeof PeftConfigSchema>;

/** PEFT's module matching: a string is a regex over the full path; a list matches by suffix. */
export function matchesModule(path: string, targets: string[] | string | null | undefined): boolean {
  if (!targets) return false;
  if (typeof targets === "string") return new RegExp(`^(?:${targets})$`).test(path);
  return targets.some((t) => path === t || path.endsWith(`.${t}`));
}

/** The PEFT key of an adapter tensor of module `path` (e.g. "model.layers.0.self_attn.k_proj"). */
export function peftKey(path: string, leaf: "ia3_l" | "lora_A.weight" | "lora_B.weight"): string {
  return `base_model.model.${path}.${leaf}`;
}
