// What the control plane needs from compute, as small interfaces: the real ones run fine-tunes and
// hosting clusters in worker processes (src/control/workers); tests use in-process fakes.

import type { FineTuneEvents as TrainingEvents, FineTuneProgress as TrainingProgress } from "../training/index.ts";
import type { Method } from "../training/index.ts";
import { SprigError } from "../errors/index.ts";
import type { TrainingConfig } from "./resources.ts";
import type { ToolSpec } from "./tool-calls.ts";

/** The training layer's methods (training/methods.ts), under the control plane's name. */
export type FineTuneMethod = Method;

/** One unit as compute starts it: reserved cores (the process is pinned to them when `pin`) and memory budget. */
export interface UnitSpec {
  index: number;
  nodeId: string;
  cores: number[];
  memoryBytes: number;
  pin: boolean;
}

export interface FineTuneSpec {
  /** stable across restarts: the custom model's id */
  jobId: string;
  /** the model directory training starts from (a BASE model, or a vanilla CUSTOM model) */
  baseModelDir: string;
  /** an adapter to start from when fine-tuning an adapter CUSTOM model further (null: a fresh one) */
  initAdapterDir: string | null;
  dataFile: string;
  /** a separate validation file (absent: the trainer holds out validationSplit of dataFile) */
  validationDataFile?: string;
  /** where the finished artifact goes (written into a temporary directory, then renamed) */
  outputDir: string;
  /** checkpoints for resume; kept until the job ends */
  checkpointDir: string;
  method: FineTuneMethod;
  /** OCI training config without its type, as the trainer takes it */
  trainingConfig: Omit<TrainingConfig, "trainingConfigType">;
  /** compute threads: the unit's cores */
  threads: number;
  /** the cluster unit the job runs in (its reservation) */
  unit: UnitSpec;
}

/** What a fine-tune worker reports: per optimizer step the training layer's progress (the fields the control plane keeps), per evaluation the validation metrics. */
export type FineTuneProgress = Pick<TrainingProgress, "step" | "totalSteps" | "epoch"> & {
  /** training loss of the step, when known */
  trainLoss?: number;
  /** training throughput of the step (prompt and completion tokens per second) */
  tokensPerSecond?: number;
  /** validation metrics when this step evaluated */
  validationLoss?: number;
  validationAccuracy?: number;
};

/** The training layer's events as they cross the worker boundary (cancel is FineTuneRun.cancel, not a signal). */
export interface FineTuneEvents extends Required<Pick<TrainingEvents, "onLog">> {
  onProgress(p: FineTuneProgress): void;
}

export type FineTuneOutcome =
  | {
      ok: true;
      finalAccuracy: number | null;
      finalLoss: number | null;
      trainableParameters: number | null;
      history?: Record<string, unknown>[];
      /** the hyperparameters that were "auto" and their values for this run */
      resolvedHyperparameters?: Record<string, number>;
    }
  | { ok: false; code: string; message: string; lines?: { line: number; reason: string }[]; canceled?: boolean; crashed?: boolean };

export interface FineTuneRun {
  readonly done: Promise<FineTuneOutcome>;
  cancel(): void;
  /** stop following the run and leave it running (runs that outlive this process: a job queue's); `done` then resolves crashed */
  detach?(): void;
}

export interface FineTuneExecutor {
  start(spec: FineTuneSpec, events: FineTuneEvents): FineTuneRun;
  /**
   * Runs that outlive the process that started them (a job queue's, run by a node): follow the run of
   * fine-tune `jobId` that another process (an API node that died or stepped down) started, with the unit
   * it holds; null when there is none to follow. Executors whose runs die with their process leave it out.
   */
  adopt?(jobId: string): Promise<{ unit: UnitSpec; run: FineTuneRun } | null>;
}

/** What an endpoint serves inside a pool: the base weights, an adapter, or a whole (vanilla) model. */
export type ServedModel = { kind: "base" } | { kind: "adapter"; dir: string } | { kind: "full"; dir: string };

export interface ChatMessage {
  role: string;
  content: string;
  /** assistant turns that called tools: OpenAI-style `[{id, type: "function", function: {name, arguments}}]` */
  tool_calls?: unknown[];
  /** tool results: the call they answer */
  tool_call_id?: string;
}

export type PromptInput =
  | { kind: "text"; text: string }
  /** `tools`: functions to show the model (its template's `tools` variable, or Sprig's default tool prompt) */
  | { kind: "chat"; messages: ChatMessage[]; tools?: ToolSpec[] }
  | { kind: "ids"; ids: number[] };

/** Constrained output (the hosting engine's `responseFormat`): any JSON object, or JSON matching a schema. */
export type ResponseFormat = { type: "json_object" } | { type: "json_schema"; schema: Record<string, unknown> | boolean };

export interface InferenceSampling {
  maxTokens: number;
  temperature: number;
  topP: number;
  topK: number;
  seed: number;
  stop: string[];
  frequencyPenalty: number;
  presencePenalty: number;
  /** token id (as a string) → bias added to its logit, -100…100 */
  logitBias?: Record<string, number>;
  /** also return this many most likely tokens per position (0–20) */
  topLogprobs?: number;
  responseFormat?: ResponseFormat;
}

export interface TopLogprob {
  token: string;
  logprob: number;
  /** the token's UTF-8 bytes (a token may hold part of a character) */
  bytes: number[];
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
  /** each generated token's bytes (when the worker knows them) */
  tokenBytes?: number[][];
  /** with `topLogprobs`: per generated token, the most likely tokens at that position, best first */
  topLogprobs?: TopLogprob[][];
}

/** Texts (tokenized by the worker) or token ids to embed; `truncate` says what to do with inputs over the context. */
export interface EmbedRequest {
  endpointId: string;
  inputs: ({ kind: "text"; text: string } | { kind: "ids"; ids: number[] })[];
  truncate: "NONE" | "START" | "END";
}

export interface EmbedResult {
  /** unit-length vectors, one per input */
  embeddings: number[][];
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
  /** mean-pooled, normalised hidden states (pools that cannot embed leave it out: a 400) */
  embed?(req: EmbedRequest): Promise<EmbedResult>;
  /** run exactly these units (one worker process each): starts new ones, stops those not listed */
  resize(units: UnitSpec[]): Promise<void>;
  stats(): Promise<PoolStats>;
  close(): Promise<void>;
}

export interface PoolSpec {
  clusterId: string;
  baseModelDir: string;
  /** one replica per unit, pinned to its cores */
  units: UnitSpec[];
}

export interface HostingExecutor {
  startPool(spec: PoolSpec): Promise<HostingPool>;
}

/** A failure the executors report with an HTTP-like status (e.g. over capacity → 429). */
export class ExecutorError extends SprigError {
  override name = "ExecutorError";
  constructor(message: string, status: number, reason: string) {
    super(status, reason, message);
  }
}
