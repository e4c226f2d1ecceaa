// The typed IPC messages between the control plane and its worker processes.

import { dirname, join } from "node:path";
import type {
  EmbedRequest,
  EmbedResult,
  FineTuneProgress,
  FineTuneSpec,
  InferenceResult,
  InferenceSampling,
  PoolStats,
  PromptInput,
  ServedModel,
} from "../executors.ts";

import type { WireError } from "../../errors/index.ts";
import type { WeightFormat } from "../../models/index.ts";

/** An error crossing the process boundary (class name, message, HTTP-like status and reason): the errors leaf's wire form. */
export { type WireError, toWire } from "../../errors/index.ts";

export type FineTuneCommand = { type: "start"; spec: FineTuneSpec; resume: boolean } | { type: "cancel" };
/** A fine-tune's outcome, as the worker writes it to the job's result file. */
export type FineTuneResult =
  | {
      type: "done";
      finalAccuracy: number;
      finalLoss: number;
      trainableParameters: number;
      history?: Record<string, unknown>[];
      resolvedHyperparameters?: Record<string, number>;
    }
  | { type: "failed"; error: WireError; canceled: boolean };
export type FineTuneReport =
  | { type: "progress"; progress: FineTuneProgress }
  | { type: "log"; message: string }
  | { type: "heartbeat" }
  /** the outcome is in the result file */
  | { type: "finished" }
  /** the result file could not be written: the outcome itself, bounded in size (boundedResult) */
  | FineTuneResult;

/** Where a job's worker writes its outcome: beside its checkpoints, in the job's directory. */
export const resultFileFor = (spec: Pick<FineTuneSpec, "checkpointDir">): string => join(dirname(spec.checkpointDir), "worker-result.json");

/** Bad lines a result sent by message carries at most (the result file carries all of them). */
export const MAX_LINES_BY_MESSAGE = 100;

/** The outcome cut to a size IPC carries safely: no history (the live progress has it), the first bad lines. */
export function boundedResult(r: FineTuneResult): FineTuneResult {
  if (r.type === "done") return { ...r, history: undefined };
  const lines = r.error.lines;
  if (!lines || lines.length <= MAX_LINES_BY_MESSAGE) return r;
  return {
    ...r,
    error: {
      ...r.error,
      message: `${r.error.message} (only the first ${MAX_LINES_BY_MESSAGE} of ${lines.length} bad lines are listed)`,
      lines: lines.slice(0, MAX_LINES_BY_MESSAGE),
    },
  };
}

export type HostingCommand =
  | { type: "init"; baseModelDir: string; threads: number; kvCacheBytes: number; weights: WeightFormat }
  | { type: "activate"; id: number; endpointId: string; model: ServedModel }
  | { type: "deactivate"; id: number; endpointId: string; cancelInFlight: boolean }
  | { type: "generate"; id: number; endpointId: string; prompt: PromptInput; sampling: InferenceSampling }
  | ({ type: "embed"; id: number } & EmbedRequest)
  | { type: "cancel"; id: number }
  | { type: "stats"; id: number }
  | { type: "close"; id: number };

export type HostingReport =
  | { type: "ready" }
  | { type: "heartbeat" }
  | { type: "init-failed"; error: WireError }
  | { type: "token"; id: number; text: string }
  | { type: "result"; id: number; value?: InferenceResult | PoolStats | EmbedResult | null; error?: WireError };
