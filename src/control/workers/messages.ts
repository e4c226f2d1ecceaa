// The typed IPC messages between the control plane and its worker processes.

import type { EmbedRequest, EmbedResult, FineTuneProgress, FineTuneSpec, InferenceResult, InferenceSampling, PoolStats, PromptInput, ServedModel } from "../executors.ts";

/** An error crossing the process boundary: its class name, message, HTTP-like status and reason. */
export interface WireError {
  name: string;
  message: string;
  status?: number;
  reason?: string;
  lines?: { line: number; reason: string }[];
}

export type FineTuneCommand = { type: "start"; spec: FineTuneSpec; resume: boolean } | { type: "cancel" };
export type FineTuneReport =
  | { type: "progress"; progress: FineTuneProgress }
  | { type: "log"; message: string }
  | { type: "done"; finalAccuracy: number; finalLoss: number; trainableParameters: number; history: Record<string, unknown>[] }
  | { type: "failed"; error: WireError; canceled: boolean };

export type HostingCommand =
  | { type: "init"; baseModelDir: string; threads: number }
  | { type: "activate"; id: number; endpointId: string; model: ServedModel }
  | { type: "deactivate"; id: number; endpointId: string; cancelInFlight: boolean }
  | { type: "generate"; id: number; endpointId: string; prompt: PromptInput; sampling: InferenceSampling }
  | ({ type: "embed"; id: number } & EmbedRequest)
  | { type: "cancel"; id: number }
  | { type: "stats"; id: number }
  | { type: "close"; id: number };

export type HostingReport =
  | { type: "ready" }
  | { type: "init-failed"; error: WireError }
  | { type: "token"; id: number; text: string }
  | { type: "result"; id: number; value?: InferenceResult | PoolStats | EmbedResult | null; error?: WireError };

export function toWire(e: unknown): WireError {
  const err = e as Error & { status?: number; reason?: string; lines?: { line: number; reason: string }[] };
  return { name: err?.name ?? "Error", message: err?.message ?? String(e), status: err?.status, reason: err?.reason, lines: err?.lines };
}
