// The candidates the T-Few study compares, their hyperparameters, and what each one costs to train and
// to keep in memory (trainable values + gradients + optimizer state).

import { lastLayersFilter } from "../../src/training/method-setup.ts";
import type { TrainingConfigInput } from "../../src/training/config.ts";
import type { Method } from "../../src/training/train-graph.ts";
import type { ModelConfig } from "../../src/models/index.ts";

export interface StudyMethod {
  /** row label in the report */
  label: string;
  method: Method;
  config: TrainingConfigInput;
}

/**
 * Every method with Sprig's defaults — "auto" epochs, learning rate and batch size, early stopping on —
 * as a user who gives only data and a method gets them. `epochs` overrides the auto epochs for all. Only
 * checkpointing is off: it changes no result, and writing vanilla's 60 MB of state every 50 steps would
 * charge vanilla for I/O the comparison is not about.
 */
export function studyMethods(model: ModelConfig, epochs: number | "auto"): StudyMethod[] {
  const lastN = Math.max(1, Math.floor(model.numLayers / 3));
  const common: TrainingConfigInput = { totalTrainingEpochs: epochs, checkpointEveryNSteps: 0 };
  return [
    { label: "T-Few ((IA)³)", method: "tfew", config: { ...common } },
    { label: "LoRA (r 8)", method: "lora", config: { ...common } },
    { label: "vanilla (all layers)", method: "vanilla", config: { ...common } },
    { label: `vanilla (last ${lastN} layers)`, method: "vanilla", config: { ...common, numOfLastLayers: lastN } },
  ];
}

/** Optimizer-state values for a tensor: AdamW keeps two moments; Adafactor a row and a column factor of
 * matrices and a full second moment of vectors; SGD (no momentum) nothing. */
function optimizerSlots(optimizer: string, shape: number[]): number {
  const n = shape.reduce((a, b) => a * b, 1);
  if (optimizer === "adamw") return 2 * n;
  if (optimizer === "adafactor") return shape.length >= 2 ? shape[shape.length - 1]! + n / shape[shape.length - 1]! : n;
  return 0;
}

/** Bytes of trainable values + gradients + optimizer state (float32). */
export function trainingStateBytes(shapes: number[][], optimizer: string): number {
  return shapes.reduce((acc, s) => acc + 4 * (2 * s.reduce((a, b) => a * b, 1) + optimizerSlots(optimizer, s)), 0);
}

/** Shapes of the base weights a vanilla run trains. */
export function vanillaShapes(model: ModelConfig, weights: ReadonlyMap<string, { shape: number[] }>, lastN?: number): number[][] {
  const keep = lastN === undefined ? () => true : lastLayersFilter(model, lastN);
  return [...weights].filter(([k]) => keep(k)).map(([, w]) => w.shape);
}
