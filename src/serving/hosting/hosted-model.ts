// What the engine keeps per hosted model — the base, each T-Few or LoRA adapter (a table row in the base
// session), each full custom model (its own session) — with its own FIFO queue for fair admission.

import type { RowAdapter, TableSlot } from "./adapter-tables.ts";
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
  completed = 0;
  generatedTokens = 0;
  private drainedResolve: (() => void) | null = null;
  /** resolves when a draining model has no request left */
  drained: Promise<void> | null = null;

  constructor(
    readonly name: string | null,
    readonly kind: ModelKind,
    readonly lane: Lane,
    readonly slot: TableSlot | null,
    readonly bytes: number,
    readonly source: string | null,
  ) {}

  get rows(): RowAdapter {
    const rows: RowAdapter = { ia3: 0, lora: 0 };
    if (this.slot) rows[this.slot.kind] = this.slot.row;
    return rows;
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
      queued: this.queue.length,
      running: this.inflight - this.queue.length,
      completed: this.completed,
      generatedTokens: this.generatedTokens,
    };
  }
}
