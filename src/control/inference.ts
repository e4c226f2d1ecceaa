// Inference through an endpoint: resolve it in the caller's compartments, refuse unless it is ACTIVE,
// and hand the request to its cluster's pool. Counters feed the metrics endpoint.

import type { Scope } from "./context.ts";
import type { Endpoints } from "./endpoints.ts";
import { ServiceError, incorrectState } from "./errors.ts";
import {
  type EmbedRequest,
  type EmbedResult,
  ExecutorError,
  type InferenceResult,
  type InferenceSampling,
  type PoolStats,
  type PromptInput,
} from "./executors.ts";
import type { Pools } from "./pools.ts";
import type { Endpoint } from "./resources.ts";
import { UsageCounters } from "./usage.ts";

export interface InferenceCall {
  /** endpoint id, or display name (OpenAI's `model`) */
  endpoint: string;
  prompt: PromptInput;
  sampling: InferenceSampling;
  onToken?: (delta: string) => void;
  signal?: AbortSignal;
}

export interface InferenceCounters {
  onResult(endpointId: string, r: InferenceResult): void;
}

export class Inference {
  /** per-endpoint counters since the start, read by GET /endpoints/{id}/usage */
  readonly usage = new UsageCounters();

  constructor(
    private readonly endpoints: Endpoints,
    private readonly pools: Pools,
    private readonly counters?: InferenceCounters,
  ) {}

  /** The endpoint a request would go to; throws the 4xx the caller should see. */
  async target(scope: Scope, idOrName: string): Promise<Endpoint> {
    const e = await this.endpoints.resolve(scope, idOrName);
    if (e.lifecycleState !== "ACTIVE") {
      this.usage.refused(e.id);
      const hint =
        e.lifecycleState === "INACTIVE"
          ? ": activate it to serve requests"
          : e.lifecycleState === "CREATING" || e.lifecycleState === "UPDATING"
            ? ": its model is being loaded; retry shortly"
            : "";
      throw incorrectState(`endpoint ${e.id} is ${e.lifecycleState}${hint}`);
    }
    return e;
  }

  async generate(scope: Scope, call: InferenceCall): Promise<{ endpoint: Endpoint; result: InferenceResult }> {
    const e = await this.target(scope, call.endpoint);
    const pool = this.pools.get(e.dedicatedAiClusterId);
    if (!pool) throw new ServiceError(503, "ServiceUnavailable", `the cluster of endpoint ${e.id} is not running: retry shortly`);
    try {
      const result = await (
        await pool
      ).generate({ endpointId: e.id, prompt: call.prompt, sampling: call.sampling }, { onToken: call.onToken, signal: call.signal });
      this.counters?.onResult(e.id, result);
      this.usage.completed(e.id, result);
      return { endpoint: e, result };
    } catch (err) {
      this.usage.failed(e.id);
      throw fromExecutorError(err, e.id);
    }
  }

  /** Embeddings through an endpoint's pool (its model: base, adapter or full). */
  async embed(
    scope: Scope,
    call: { endpoint: string; inputs: EmbedRequest["inputs"]; truncate: EmbedRequest["truncate"] },
  ): Promise<{ endpoint: Endpoint; result: EmbedResult }> {
    const e = await this.target(scope, call.endpoint);
    const pool = this.pools.get(e.dedicatedAiClusterId);
    if (!pool) throw new ServiceError(503, "ServiceUnavailable", `the cluster of endpoint ${e.id} is not running: retry shortly`);
    const p = await pool;
    if (!p.embed) throw new ServiceError(400, "InvalidParameter", `the cluster of endpoint ${e.id} cannot compute embeddings`);
    try {
      return { endpoint: e, result: await p.embed({ endpointId: e.id, inputs: call.inputs, truncate: call.truncate }) };
    } catch (err) {
      throw fromExecutorError(err, e.id);
    }
  }

  async stats(): Promise<Record<string, PoolStats>> {
    const out: Record<string, PoolStats> = {};
    for (const id of this.pools.running()) {
      try {
        out[id] = await (await this.pools.get(id)!).stats();
      } catch {
        // a pool that is starting or failed has no stats to report
      }
    }
    return out;
  }
}

/** Executor failures carry an HTTP-like status; keep it, with an OCI code that fits. */
export function fromExecutorError(err: unknown, endpointId: string): ServiceError {
  if (err instanceof ServiceError) return err;
  if (err instanceof ExecutorError || (err instanceof Error && typeof (err as { status?: unknown }).status === "number")) {
    const status = (err as ExecutorError).status;
    const reason = (err as ExecutorError).reason;
    if (status === 400 || status === 422) return new ServiceError(400, "InvalidParameter", err.message);
    if (status === 404) return incorrectState(`endpoint ${endpointId} is not active in its cluster (${err.message})`);
    if (status === 429) return new ServiceError(429, "TooManyRequests", err.message);
    // the client is still there when its endpoint goes away or the service stops: tell it what happened
    if (status === 499 && reason === "model_deactivated")
      return incorrectState(`endpoint ${endpointId} was deleted or deactivated while the request ran; the request was stopped`);
    if (status === 499 && reason === "closed")
      return new ServiceError(503, "ServiceUnavailable", `the service is shutting down or the endpoint's worker stopped; retry shortly`);
    if (status === 499) return new ServiceError(499, "ClientClosedRequest", `${err.message} (${reason})`);
    if (status === 409) return new ServiceError(409, "Conflict", err.message);
    return new ServiceError(503, "ServiceUnavailable", err.message);
  }
  return new ServiceError(500, "InternalServerError", `inference failed: ${(err as Error)?.message ?? String(err)}`);
}
