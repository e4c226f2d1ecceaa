// The training layer as other layers import it: everything here is what they may use.
export {
  resolveTrainingConfig,
  TrainingConfigError,
  type TrainingConfigInput,
  TrainingConfigSchema,
  trainingConfigSpec,
} from "./config.ts";
export { AUTO_KEYS } from "./auto-hyperparameters.ts";
export { DataError, MIN_EXAMPLES, parseDataset } from "./data.ts";
export { fineTune, FineTuneAbortedError, FineTuneError, type FineTuneEvents, type FineTuneProgress, runDirFor } from "./finetune.ts";
export { type Method, METHOD_NAMES, METHODS } from "./methods.ts";
export { type FineTuneMetrics } from "./metrics.ts";
export { METRICS_FILE, writeModelDir } from "./outputs.ts";
