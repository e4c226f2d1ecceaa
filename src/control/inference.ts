// Inference through an endpoint: resolve it in the caller's compartments, refuse unless it is ACTIVE,
// and hand the request to its cluster's pool. Counters feed the metrics endpoint.

import type { Scope } from "./context.ts";
import type { Endpoints } from "./endpoints.ts";
import { SprigError } from "../errors/index.ts";
import { ServiceError, asServiceError, incorrectState } from "./errors.ts";
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

/** An endpoint that `Inference.target` found ACTIVE in the caller's compartments: a request holding one is
 *  not looked up again. */
export type ActiveEndpoint = Endpoint & { readonly __checkedBy: "target" };

export interface InferenceCall {
  /** endpoint id, or display name (OpenAI's `model`), or what `target` returned */
  endpoint: string | ActiveEndpoint;
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
  async target(scope: Scope, idOrName: string | ActiveEndpoint): Promise<ActiveEndpoint> {
    if (typeof idOrName !== "string") return idOrName;
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
    return e as ActiveEndpoint;
  }

  async generate(scope: Scope, call: InferenceCall): Promise<{ endpoint: Endpoint; result: InferenceResult }> {
    const e = await this.target(scope, call.endpoint);
    const pool = this.endpoints.poolFor(e);
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
    call: { endpoint: string | ActiveEndpoint; inputs: EmbedRequest["inputs"]; truncate: EmbedRequest["truncate"] },
  ): Promise<{ endpoint: Endpoint; result: EmbedResult }> {
    const e = await this.target(scope, call.endpoint);
    const pool = this.endpoints.poolFor(e);
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

type Translate = (e: SprigError, endpointId: string) => ServiceError;

/** What a cancellation means to a client that is still there, by the worker's reason. */
const CANCELLED: Partial<Record<string, Translate>> = {
  model_deactivated: (_e, id) => incorrectState(`endpoint ${id} was deleted or deactivated while the request ran; the request was stopped`),
  closed: () => new ServiceError(503, "ServiceUnavailable", `the service is shutting down or the endpoint's worker stopped; retry shortly`),
};

/** The executor statuses that mean something else to the caller of an endpoint; any other 4xx arrives as it
 *  is (its own status and message, the worker's error as the cause), any 5xx as a 503 to retry. */
const EXECUTOR_STATUS: Partial<Record<number, Translate>> = {
  404: (e, id) => incorrectState(`endpoint ${id} is not active in its cluster (${e.message})`),
  // the client is still there when its endpoint goes away or the service stops: tell it what happened
  499: (e, id) => (CANCELLED[e.reason] ?? ((e) => new ServiceError(499, "ClientClosedRequest", `${e.message} (${e.reason})`)))(e, id),
};

/** An executor's failure as the ServiceError the caller sees: its status and reason kept (see EXECUTOR_STATUS). */
export function fromExecutorError(err: unknown, endpointId: string): ServiceError {
  if (err instanceof ServiceError) return err;
  const status = (err as { status?: unknown })?.status;
  if (!(err instanceof Error) || typeof status !== "number")
    return new ServiceError(500, "InternalServerError", `inference failed: ${(err as Error)?.message ?? String(err)}`);
  const e =
    err instanceof SprigError ? err : new ExecutorError(err.message, status, String((err as { reason?: unknown }).reason ?? err.name));
  const translate = EXECUTOR_STATUS[status];
  if (translate) return translate(e, endpointId);
  return status >= 500 ? new ServiceError(503, "ServiceUnavailable", e.message) : asServiceError(e);
}
