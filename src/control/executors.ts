// What the control plane needs from compute, as small interfaces: the real ones run fine-tunes and
// hosting clusters in worker processes (src/control/workers); tests use in-process fakes.

import type { FineTuneEvents as TrainingEvents, FineTuneProgress as TrainingProgress } from "../training/finetune.ts";
import type { Method } from "../training/methods.ts";
import type { TrainingConfig } from "./resources.ts";

/** The training layer's methods (training/methods.ts), under the control plane's name. */
export type FineTuneMethod = Method;

export interface FineTuneSpec {
  /** stable across restarts: the custom model's id */
  jobId: string;
  /** the model directory training starts from (a BASE model, or a vanilla CUSTOM model) */
  baseModelDir: string;
  /** an adapter to start from when fine-tuning an adapter CUSTOM model further (null: a fresh one) */
  initAdapterDir: string | null;
  dataFile: string;
  /** where the finished artifact goes (written into a temporary directory, then renamed) */
  outputDir: string;
  /** checkpoints for resume; kept until the job ends */
  checkpointDir: string;
  method: FineTuneMethod;
  /** OCI training config without its type, as the trainer takes it */
  trainingConfig: Omit<TrainingConfig, "trainingConfigType">;
  /** compute threads (0 = all cores) */
  threads: number;
}

/** What a fine-tune worker reports per optimizer step: the training layer's progress, the fields the control plane keeps. */
export type FineTuneProgress = Pick<TrainingProgress, "step" | "totalSteps" | "epoch" | "trainLoss">;

/** The training layer's events as they cross the worker boundary (cancel is FineTuneRun.cancel, not a signal). */
export interface FineTuneEvents extends Required<Pick<TrainingEvents, "onLog">> {
  onProgress(p: FineTuneProgress): void;
}

export type FineTuneOutcome =
  | { ok: true; finalAccuracy: number | null; finalLoss: number | null; trainableParameters: number | null; history?: Record<string, unknown>[] }
  | { ok: false; code: string; message: string; lines?: { line: number; reason: string }[]; canceled?: boolean; crashed?: boolean };

export interface FineTuneRun {
  readonly done: Promise<FineTuneOutcome>;
  cancel(): void;
}

export interface FineTuneExecutor {
  start(spec: FineTuneSpec, events: FineTuneEvents): FineTuneRun;
}

/** What an endpoint serves inside a pool: the base weights, an adapter, or a whole (vanilla) model. */
export type ServedModel = { kind: "base" } | { kind: "adapter"; dir: string } | { kind: "full"; dir: string };

export interface ChatMessage {
  role: string;
  content: string;
}

export type PromptInput = { kind: "text"; text: string } | { kind: "chat"; messages: ChatMessage[] } | { kind: "ids"; ids: number[] };

export interface InferenceSampling {
  maxTokens: number;
  temperature: number;
  topP: number;
  topK: number;
  seed: number;
  stop: string[];
  frequencyPenalty: number;
  presencePenalty: number;
}

export interface InferenceRequest {
  /** the endpoint id (names its model inside the pool) */
  endpointId: string;
  prompt: PromptInput;
  sampling: InferenceSampling;
}

export interface InferenceResult {
  ids: number[];
  logprobs: number[];
  /** each generated token's text ("" for pieces of a character still incomplete) */
  tokens: string[];
  text: string;
  finishReason: "stop" | "length";
  promptTokens: number;
}

export interface PoolStats {
  replicas: number;
  queueLength: number;
  /** bytes of memory per served model: "base" and each endpoint id */
  memoryBytes: Record<string, number>;
}

export interface HostingPool {
  activate(endpointId: string, model: ServedModel): Promise<void>;
  /** stops serving; in-flight requests are cancelled when `cancelInFlight` */
  deactivate(endpointId: string, o: { cancelInFlight: boolean }): Promise<void>;
  generate(req: InferenceRequest, o: { onToken?: (delta: string) => void; signal?: AbortSignal }): Promise<InferenceResult>;
  /** change the number of replicas (worker processes) */
  resize(replicas: number): Promise<void>;
  stats(): Promise<PoolStats>;
  close(): Promise<void>;
}

export interface HostingExecutor {
  startPool(spec: { clusterId: string; baseModelDir: string; replicas: number; threads: number }): Promise<HostingPool>;
}

/** A failure the executors report with an HTTP-like status (e.g. over capacity → 429). */
export class ExecutorError extends Error {
  override name = "ExecutorError";
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string,
  ) {
    super(message);
  }
}
