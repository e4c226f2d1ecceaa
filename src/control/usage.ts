// Per-endpoint usage counters (generations, tokens, refusals) since the service started, for the
// console and `GET /endpoints/{id}/usage`. In memory: Prometheus' sprig_tokens_total resets the same way.

import { z } from "zod";
import type { InferenceResult } from "./executors.ts";

export const EndpointUsage = z
  .object({
    endpointId: z.string(),
    /** when these counters started (the service's start) */
    since: z.string(),
    /** generations completed; a request for n choices makes n */
    generations: z.number().int(),
    /** generations that failed after reaching the endpoint's cluster (over capacity, canceled, worker errors) */
    failedGenerations: z.number().int(),
    /** requests refused because the endpoint was not ACTIVE (e.g. INACTIVE) */
    refusedRequests: z.number().int(),
    /** prompt tokens of the completed generations */
    promptTokens: z.number().int(),
    /** tokens generated */
    completionTokens: z.number().int(),
  })
  .meta({ id: "EndpointUsage" });
export type EndpointUsage = z.infer<typeof EndpointUsage>;

type Counts = Omit<EndpointUsage, "endpointId" | "since">;
const zero = (): Counts => ({ generations: 0, failedGenerations: 0, refusedRequests: 0, promptTokens: 0, completionTokens: 0 });

export class UsageCounters {
  private readonly since = new Date().toISOString();
  private readonly byEndpoint = new Map<string, Counts>();

  private of(endpointId: string): Counts {
    let c = this.byEndpoint.get(endpointId);
    if (!c) this.byEndpoint.set(endpointId, (c = zero()));
    return c;
  }

  completed(endpointId: string, r: InferenceResult): void {
    const c = this.of(endpointId);
    c.generations++;
    c.promptTokens += r.promptTokens;
    c.completionTokens += r.ids.length;
  }

  failed(endpointId: string): void {
    this.of(endpointId).failedGenerations++;
  }

  refused(endpointId: string): void {
    this.of(endpointId).refusedRequests++;
  }

  /** A deleted endpoint's counters go: ids are never reused, so keeping them would only grow the map. */
  forget(endpointId: string): void {
    this.byEndpoint.delete(endpointId);
  }

  /** endpoints with counters (for tests and the soak bench's bounded-state checks) */
  get size(): number {
    return this.byEndpoint.size;
  }

  get(endpointId: string): EndpointUsage {
    return { endpointId, since: this.since, ...(this.byEndpoint.get(endpointId) ?? zero()) };
  }
}
