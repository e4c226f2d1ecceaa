// What the engine keeps per hosted model — the base, each T-Few or LoRA adapter (a table row in the base
// session while hot, see adapter-residency.ts), each full custom model (its own session) — with its own
// FIFO queue for fair admission.

import type { RowAdapter } from "./adapter-tables.ts";
import type { ResidentAdapter, Tier } from "./adapter-residency.ts";
import type { HostedRequest, RequestTarget } from "./hosted-request.ts";
import type { Lane } from "./lane.ts";

export type ModelKind = "base" | "ia3" | "lora" | "full";

export interface ModelStats {
  name: string;
  kind: Exclude<ModelKind, "base">;
  /** "draining": deactivated, finishing its requests; its memory is freed when they are done */
  state: "active" | "draining";
  /** memory this model adds to the base: its table row (adapters) or its whole weights (full models) */
  bytes: number;
  /** the directory it was activated from, null when given in memory */
  source: string | null;
  /** adapters: where it is now (hot: a table row; host: host memory; disk: its directory), and whether pinned hot */
  tier?: Tier;
  pinned?: boolean;
  queued: number;
  running: number;
  completed: number;
  generatedTokens: number;
}

let activations = 0;

export class HostedModel implements RequestTarget {
  readonly queue: HostedRequest[] = [];
  /** a name can be re-activated with other weights: the prefix cache keys by activation, not by name */
  readonly cacheKey = `model#${++activations}`;
  state: "active" | "draining" = "active";
  /** requests queued or in a lane */
  inflight = 0;
  /** embeddings running on its row */
  holds = 0;
  completed = 0;
  generatedTokens = 0;
  private drainedResolve: (() => void) | null = null;
  /** resolves when a draining model has no request left */
  drained: Promise<void> | null = null;

  constructor(
    readonly name: string | null,
    readonly kind: ModelKind,
    readonly lane: Lane,
    /** an adapter's place in the tiers; null for the base and full models */
    readonly resident: ResidentAdapter | null,
    readonly bytes: number,
    readonly source: string | null,
  ) {}

  /** its table rows; an adapter has one only while hot, which it stays while a row of the batch uses it */
  get rows(): RowAdapter {
    const rows: RowAdapter = { ia3: 0, lora: 0 };
    const slot = this.resident?.slot;
    if (slot) rows[slot.kind] = slot.row;
    return rows;
  }

  /** whether a request or embedding of it is in a lane (admitted: pending, prefilling or running) */
  get busy(): boolean {
    return this.inflight > this.queue.length || this.holds > 0;
  }

  startDraining(): void {
    this.state = "draining";
    this.drained = new Promise((resolve) => (this.drainedResolve = resolve));
  }

  /** whether a draining model has nothing left in flight */
  get isDrained(): boolean {
    return this.state === "draining" && this.inflight === 0;
  }

  markDrained(): void {
    this.drainedResolve?.();
  }

  stats(): ModelStats {
    return {
      name: this.name ?? "base",
      kind: this.kind === "base" ? "full" : this.kind,
      state: this.state,
      bytes: this.bytes,
      source: this.source,
      ...(this.resident ? { tier: this.resident.tier, pinned: this.resident.pinned } : {}),
      queued: this.queue.length,
      running: this.inflight - this.queue.length,
      completed: this.completed,
      generatedTokens: this.generatedTokens,
    };
  }
}
