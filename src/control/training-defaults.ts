// The hyperparameters a fine-tune uses when a field is left out, per training method, under the API's
// names: what `trainingConfigSpec` fills in, so forms (the console's) show the real defaults ("auto" for
// epochs, learning rate and batch size, which the run resolves from its dataset).

import { z } from "zod";
import { trainingConfigSpec } from "../training/index.ts";
import { METHOD } from "./fine-tunes.ts";
import { TrainingConfig, TrainingConfigType } from "./resources.ts";

/** Fields that mean something for one method only (the trainer refuses them for the others). */
const ONLY: Partial<Record<keyof TrainingConfig, TrainingConfigType>> = {
  loraR: "LORA_TRAINING_CONFIG",
  loraAlpha: "LORA_TRAINING_CONFIG",
  loraDropout: "LORA_TRAINING_CONFIG",
  numOfLastLayers: "VANILLA_TRAINING_CONFIG",
};
type TrainingConfigType = z.infer<typeof TrainingConfigType>;

export const TrainingConfigDefaults = z.object({ items: z.array(TrainingConfig) }).meta({ id: "TrainingConfigDefaults" });

export function trainingConfigDefaults(): TrainingConfig[] {
  const keys = Object.keys(TrainingConfig.shape).filter((k) => k !== "trainingConfigType") as Array<keyof TrainingConfig>;
  return TrainingConfigType.options.map((type) => {
    const resolved = trainingConfigSpec(METHOD[type]) as Record<string, unknown>;
    const out: Record<string, unknown> = { trainingConfigType: type };
    // a default of undefined (numOfLastLayers: every layer) is left out
    for (const k of keys) if ((ONLY[k] ?? type) === type && resolved[k] !== undefined) out[k] = resolved[k];
    return out as TrainingConfig;
  });
}
