// Fine-tuning hyperparameters under OCI's training-config names, validated with zod (unknown keys are
// rejected), with defaults per method. Epochs, learning rate and batch size default to "auto", which
// auto-hyperparameters.ts resolves from the training split's size, the method and the base model's size.

import { z } from "zod";
import { formatIssues } from "../errors/index.ts";
import { AUTO, type AutoContext, type AutoKey, type AutoResolution, resolveAuto } from "./auto-hyperparameters.ts";
import type { Method } from "./train-graph.ts";

/** A number, or "auto": resolved from the dataset when the run starts (auto-hyperparameters.ts). */
const orAuto = <T extends z.ZodNumber>(n: T, expected: string) =>
  z.union([n, z.literal(AUTO)], { error: `expected ${expected}, or "auto"` });

export const TrainingConfigSchema = z.strictObject({
  /** passes over the training split, or "auto" (the default): about 150 optimizer steps, 2–40 epochs */
  totalTrainingEpochs: orAuto(z.number().int().min(1).max(1000), "an integer from 1 to 1000").optional(),
  /** peak learning rate (after warmup), or "auto" (the default): per method and base-model size */
  learningRate: orAuto(z.number().positive().max(10), "a number above 0, at most 10").optional(),
  /**
   * examples per micro-batch, or "auto" (the default): 4 up to 64 training examples, 8 up to 2000, then 16
   * (T-Few with choices: still one row per example, its choices packed behind the prompt)
   */
  trainingBatchSize: orAuto(z.number().int().min(1).max(4096), "an integer from 1 to 4096").optional(),
  /** stop after this many validation evaluations without improvement (0 = never stop early) */
  earlyStoppingPatience: z.number().int().min(0).optional(),
  /** smallest decrease of the validation loss that counts as an improvement */
  earlyStoppingThreshold: z.number().min(0).optional(),
  /** evaluate on the validation split every this many optimizer steps (and at the last one) */
  logModelMetricsIntervalInSteps: z.number().int().min(1).optional(),
  /** LoRA rank */
  loraR: z.number().int().min(1).max(1024).optional(),
  /** LoRA scaling numerator: ΔW = (loraAlpha / loraR) · B A */
  loraAlpha: z.number().positive().optional(),
  /** dropout on the LoRA branch's input during training */
  loraDropout: z.number().min(0).max(0.95).optional(),
  /** LoRA: module names to adapt (PEFT matching; default q_proj, v_proj — GPT-2: c_attn) */
  loraTargetModules: z.array(z.string().min(1)).min(1).optional(),
  /** vanilla: train only the weights of the last N transformer layers; default: every weight */
  numOfLastLayers: z.number().int().min(1).optional(),
  /** update rule */
  optimizer: z.enum(["adamw", "adafactor", "sgd"]).optional(),
  /** decoupled weight decay */
  weightDecay: z.number().min(0).max(1).optional(),
  /** share of the optimizer steps spent warming the learning rate up linearly */
  warmupRatio: z.number().min(0).max(1).optional(),
  /** clip gradients to this global L2 norm (0 = no clipping) */
  maxGradNorm: z.number().min(0).optional(),
  /** micro-batches whose gradients are combined into one optimizer step */
  gradientAccumulationSteps: z.number().int().min(1).max(1024).optional(),
  /** seed of the split, the shuffling, LoRA's initialisation and dropout */
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .optional(),
  /** reshuffle the training split every epoch (false: file order) */
  shuffle: z.boolean().optional(),
  /** share of the examples held out for validation (0 = none: no validation metrics, no early stopping) */
  validationSplit: z.number().min(0).max(0.9).optional(),
  /** write a resumable checkpoint every this many optimizer steps (0 = never) */
  checkpointEveryNSteps: z.number().int().min(0).optional(),
});

export type TrainingConfigInput = z.infer<typeof TrainingConfigSchema>;
/** The validated settings with every default filled in; epochs, rate and batch size may still be "auto". */
export type TrainingConfigSpec = Required<Omit<TrainingConfigInput, "numOfLastLayers" | "loraTargetModules">> &
  Pick<TrainingConfigInput, "numOfLastLayers" | "loraTargetModules">;
/** What a run uses: every setting concrete. */
export type TrainingConfig = Omit<TrainingConfigSpec, AutoKey> & Record<AutoKey, number>;

/** What "auto" resolves from besides the method (`fineTune` passes the real training split and base model). */
export type AutoData = Omit<AutoContext, "method">;

/**
 * Without a dataset (a bench timing steps, a test building a graph): auto settings resolve as for this one,
 * 256 training examples on a small base model.
 */
export const NOMINAL_DATA: AutoData = { trainExamples: 256, baseParameters: 0 };

const COMMON = {
  totalTrainingEpochs: AUTO,
  trainingBatchSize: AUTO,
  earlyStoppingPatience: 15,
  earlyStoppingThreshold: 1e-4,
  logModelMetricsIntervalInSteps: 10,
  warmupRatio: 0.06,
  maxGradNorm: 1,
  gradientAccumulationSteps: 1,
  seed: 0,
  shuffle: true,
  validationSplit: 0.2,
  checkpointEveryNSteps: 50,
  loraR: 8,
  loraAlpha: 16,
  loraDropout: 0.1,
} as const;

/** Per-method defaults: T-Few uses the paper's Adafactor at 3e-3; LoRA and vanilla use AdamW. */
export const METHOD_DEFAULTS: Record<Method, { learningRate: typeof AUTO; optimizer: "adamw" | "adafactor" | "sgd"; weightDecay: number }> =
  {
    tfew: { learningRate: AUTO, optimizer: "adafactor", weightDecay: 0 },
    lora: { learningRate: AUTO, optimizer: "adamw", weightDecay: 0 },
    vanilla: { learningRate: AUTO, optimizer: "adamw", weightDecay: 0.01 },
  };

/** Keys that only mean something for some methods: giving them to another is a mistake worth reporting. */
const ONLY_FOR: Partial<Record<keyof TrainingConfigInput, Method>> = {
  loraR: "lora",
  loraAlpha: "lora",
  loraDropout: "lora",
  loraTargetModules: "lora",
  numOfLastLayers: "vanilla",
};

export class TrainingConfigError extends Error {
  override name = "TrainingConfigError";
}

/** Validate `input` for `method` and fill in the defaults, keeping "auto" where it is (forms show it so). */
export function trainingConfigSpec(method: Method, input: unknown = {}): TrainingConfigSpec {
  const parsed = TrainingConfigSchema.safeParse(input);
  if (!parsed.success) {
    const why = formatIssues(parsed.error.issues, { whole: "", unknownKeyText: (k) => `unknown key "${k}"${suggest(k)}` });
    throw new TrainingConfigError(`invalid training config: ${why}`);
  }
  const c = parsed.data;
  const wrong = (Object.keys(ONLY_FOR) as Array<keyof TrainingConfigInput>).filter((k) => c[k] !== undefined && ONLY_FOR[k] !== method);
  if (wrong.length)
    throw new TrainingConfigError(`${wrong.map((k) => `${k} applies to ${ONLY_FOR[k]} only`).join("; ")} (method is ${method})`);
  const defined = Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined));
  return { ...COMMON, ...METHOD_DEFAULTS[method], ...defined } as TrainingConfigSpec;
}

/** Validate `input` for `method`, fill in the defaults and resolve every "auto" for `data`. */
export function resolveTrainingConfig(method: Method, input: unknown = {}, data: AutoData = NOMINAL_DATA): TrainingConfig {
  return resolveTrainingConfigAuto(method, input, data).config;
}

/** `resolveTrainingConfig`, and what the auto settings resolved to (for metrics.json). */
export function resolveTrainingConfigAuto(
  method: Method,
  input: unknown,
  data: AutoData,
): { config: TrainingConfig; auto: AutoResolution } {
  return resolveAuto(trainingConfigSpec(method, input), { method, ...data });
}

/** " (did you mean …?)" for a key within a few edits of a known one. */
function suggest(key: string): string {
  let best: [string, number] | null = null;
  for (const k of Object.keys(TrainingConfigSchema.shape)) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d <= 3 && (!best || d < best[1])) best = [k, d];
  }
  return best ? ` (did you mean "${best[0]}"?)` : "";
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
