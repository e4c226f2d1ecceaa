// Fine-tuning hyperparameters under OCI's training-config names, validated with zod (unknown keys are
// rejected), with defaults per method: T-Few as in Liu et al. 2022, LoRA and vanilla as commonly used.

import { z } from "zod";
import { formatIssues } from "../errors/index.ts";
import type { Method } from "./train-graph.ts";

export const TrainingConfigSchema = z.strictObject({
  /** passes over the training split */
  totalTrainingEpochs: z.number().int().min(1).max(1000).optional(),
  /** peak learning rate (after warmup) */
  learningRate: z.number().positive().max(10).optional(),
  /** examples per micro-batch (T-Few with choices: still one row per example, its choices packed behind the prompt) */
  trainingBatchSize: z.number().int().min(1).max(4096).optional(),
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
export type TrainingConfig = Required<Omit<TrainingConfigInput, "numOfLastLayers" | "loraTargetModules">> &
  Pick<TrainingConfigInput, "numOfLastLayers" | "loraTargetModules">;

const COMMON = {
  totalTrainingEpochs: 3,
  trainingBatchSize: 8,
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
export const METHOD_DEFAULTS: Record<Method, { learningRate: number; optimizer: "adamw" | "adafactor" | "sgd"; weightDecay: number }> = {
  tfew: { learningRate: 3e-3, optimizer: "adafactor", weightDecay: 0 },
  lora: { learningRate: 2e-4, optimizer: "adamw", weightDecay: 0 },
  vanilla: { learningRate: 2e-5, optimizer: "adamw", weightDecay: 0.01 },
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

/** Validate `input` for `method` and fill in the defaults. */
export function resolveTrainingConfig(method: Method, input: unknown = {}): TrainingConfig {
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
  return { ...COMMON, ...METHOD_DEFAULTS[method], ...defined } as TrainingConfig;
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
