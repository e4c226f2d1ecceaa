// `"auto"` epochs, learning rate and batch size (as OpenAI's fine-tuning API has), resolved from the
// training split's size, the method and the base model's size class. The rules and their constants were
// chosen from the sweep in tools/study/sweep.ts (docs/hyperparameters.md, "How the defaults were chosen").

import type { Method } from "./methods.ts";

export const AUTO = "auto" as const;

/** The settings that accept "auto" (and default to it). */
export const AUTO_KEYS = ["totalTrainingEpochs", "learningRate", "trainingBatchSize"] as const;
export type AutoKey = (typeof AUTO_KEYS)[number];

/** Base models by parameter count: the sweep ran on `small` (sprig-base, 5 M); the others scale its rates down. */
export type SizeClass = "small" | "medium" | "large";

export const SIZE_CLASSES: readonly { name: SizeClass; below: number; example: string }[] = [
  { name: "small", below: 50e6, example: "sprig-base (5 M)" },
  { name: "medium", below: 1e9, example: "SmolLM2-135M / 360M" },
  { name: "large", below: Infinity, example: "1 B and up" },
];

export function sizeClassOf(baseParameters: number): SizeClass {
  return SIZE_CLASSES.find((c) => baseParameters < c.below)!.name;
}

/**
 * Peak learning rates per method and size class. `small`: the sweep's best on sprig-base. `medium` and
 * `large` are not swept (no pre-trained model of that size ships with Sprig): the small rate scaled down as
 * the usual recipes for those sizes do — T-Few towards the paper's 3e-3 for 3 B+, LoRA towards 2e-4, vanilla
 * towards 2e-5.
 */
export const AUTO_LEARNING_RATE: Record<Method, Record<SizeClass, number>> = {
  tfew: { small: 0.3, medium: 3e-2, large: 3e-3 },
  lora: { small: 1e-2, medium: 1e-3, large: 2e-4 },
  vanilla: { small: 1e-3, medium: 5e-5, large: 2e-5 },
};

/** Optimizer steps an auto run aims for: epochs = ⌈TARGET_STEPS ÷ steps per epoch⌉, within the bounds. */
export const TARGET_STEPS = 150;
export const MIN_EPOCHS = 2;
export const MAX_EPOCHS = 40;

/** Batch size by training-split size: the largest row whose `upTo` is ≥ the examples. */
export const AUTO_BATCH: readonly { upTo: number; batch: number }[] = [
  { upTo: 64, batch: 4 },
  { upTo: 2000, batch: 8 },
  { upTo: Infinity, batch: 16 },
];

export interface AutoContext {
  method: Method;
  /** examples in the training split (after holding out validation) */
  trainExamples: number;
  /** parameters of the base model */
  baseParameters: number;
}

/** What each "auto" setting resolved to, and from what: recorded in metrics.json (`auto`). */
export interface AutoResolution {
  /** the settings that were "auto" and their values */
  resolved: Partial<Record<AutoKey, number>>;
  trainExamples: number;
  sizeClass: SizeClass;
  /** one line per resolved setting: the rule applied */
  rules: string[];
}

export function autoBatchSize(trainExamples: number): number {
  return AUTO_BATCH.find((r) => trainExamples <= r.upTo)!.batch;
}

export function autoEpochs(trainExamples: number, batchSize: number, gradientAccumulationSteps = 1): number {
  const stepsPerEpoch = Math.max(1, Math.ceil(Math.ceil(trainExamples / batchSize) / gradientAccumulationSteps));
  return Math.min(MAX_EPOCHS, Math.max(MIN_EPOCHS, Math.ceil(TARGET_STEPS / stepsPerEpoch)));
}

export function autoLearningRate(method: Method, baseParameters: number): number {
  return AUTO_LEARNING_RATE[method][sizeClassOf(baseParameters)];
}

type Settable = Record<AutoKey, number | typeof AUTO> & { gradientAccumulationSteps: number };

/**
 * Replace every "auto" of `cfg` by its value for this dataset and model; the batch size first, since the
 * epochs follow from the steps per epoch. Returns the concrete values and what was resolved.
 */
export function resolveAuto<C extends Settable>(cfg: C, ctx: AutoContext): { config: C & Record<AutoKey, number>; auto: AutoResolution } {
  const sizeClass = sizeClassOf(ctx.baseParameters);
  const resolved: Partial<Record<AutoKey, number>> = {};
  const rules: string[] = [];
  const n = ctx.trainExamples;
  const batch = cfg.trainingBatchSize === AUTO ? autoBatchSize(n) : cfg.trainingBatchSize;
  if (cfg.trainingBatchSize === AUTO) {
    resolved.trainingBatchSize = batch;
    rules.push(`trainingBatchSize ${batch}: ${n} training examples`);
  }
  const epochs = cfg.totalTrainingEpochs === AUTO ? autoEpochs(n, batch, cfg.gradientAccumulationSteps) : cfg.totalTrainingEpochs;
  if (cfg.totalTrainingEpochs === AUTO) {
    resolved.totalTrainingEpochs = epochs;
    rules.push(`totalTrainingEpochs ${epochs}: ~${TARGET_STEPS} steps at ${Math.ceil(n / batch)} per epoch (${MIN_EPOCHS}–${MAX_EPOCHS})`);
  }
  const lr = cfg.learningRate === AUTO ? autoLearningRate(ctx.method, ctx.baseParameters) : cfg.learningRate;
  if (cfg.learningRate === AUTO) {
    resolved.learningRate = lr;
    rules.push(`learningRate ${lr}: ${ctx.method} on a ${sizeClass} base model`);
  }
  return {
    config: { ...cfg, trainingBatchSize: batch, totalTrainingEpochs: epochs, learningRate: lr },
    auto: { resolved, trainExamples: n, sizeClass, rules },
  };
}
