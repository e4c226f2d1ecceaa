// Continuous batching across the engine's sessions: per-model FIFO queues admitted round-robin (a busy
// model cannot starve the others) under the batch-size and KV-memory limits, one loop that prefills and
// decodes each lane in turn between which requests join and leave, cancellation, draining, accounting.

import { z } from "zod";
import type { ModelConfig, SprigTokenizer } from "../../models/index.ts";
import type { HostingOptions } from "./engine-options.ts";
import { CancelledError, HostingError, InvalidRequestError, OverCapacityError } from "./errors.ts";
import { HostedRequest, type TokenEvent } from "./hosted-request.ts";
import type { HostedModel, ModelStats } from "./hosted-model.ts";
import type { Lane } from "./lane.ts";
import type { PrefixCacheStats } from "./prefix-cache.ts";
import type { TierStats } from "./adapter-residency.ts";
import { type SamplingInput, samplingOptions } from "../sampling.ts";
import { GenerationError, Sequence, promptProblem } from "../sequence.ts";
import { capacityFor } from "./slot-cache.ts";
import { Throughput } from "./throughput.ts";
import { formatIssues } from "../../errors/index.ts";

export { streamOf, type StreamEvent } from "./stream.ts";

export interface SubmitRequest {
  /** adapter or full model name; null or absent = the base model */
  adapter?: string | null;
  promptIds: readonly number[];
  sampling?: SamplingInput;
  /** aborting cancels the request and frees its batch slot at the next step */
  signal?: AbortSignal;
  onToken?: (t: TokenEvent) => void;
}

export interface EngineStats {
  base: { bytes: number; fingerprint: string; tokenizer: boolean };
  models: ModelStats[];
  tables: Record<"ia3" | "lora", { rowBytes: number; used: number; capacity: number; reservedBytes: number }>;
  /** adapters per tier, host-tier bytes, loads and evictions (adapter-residency.ts) */
  tiers: TierStats;
  /** stagingBytes: prompts' K/V held while they are prefilled (transient, beside budgetBytes) */
  kvCache: { budgetBytes: number; allocatedBytes: number; usedBytes: number; bytesPerToken: number; stagingBytes: number };
  /** null when disabled (`prefixCache.bytes` 0); its memory is beside kvCacheBytes */
  prefixCache: PrefixCacheStats | null;
  queue: { length: number; max: number; maxPerModel: number };
  batch: { running: number; pending: number; maxBatchSize: number; sessions: number };
  /** generated tokens per second over the last 10 s */
  tokensPerSecond: number;
  totals: {
    submitted: number;
    completed: number;
    cancelled: number;
    failed: number;
    rejected: number;
    promptTokens: number;
    generatedTokens: number;
  };
}

/** Validate a request against its model; throws InvalidRequestError. */
export function buildRequest(
  target: HostedModel,
  req: SubmitRequest,
  cfg: ModelConfig,
  tok: SprigTokenizer | null,
  kvBudget: number,
  s: Scheduler,
): HostedRequest {
  let sampling;
  try {
    sampling = samplingOptions(req.sampling ?? {});
  } catch (e) {
    if (e instanceof z.ZodError) throw new InvalidRequestError(`sampling: ${formatIssues(e.issues, { whole: "sampling" })}`);
    throw e;
  }
  if (!Array.isArray(req.promptIds)) throw new InvalidRequestError("promptIds must be an array of token ids");
  const why = promptProblem(cfg, req.promptIds);
  if (why) throw new InvalidRequestError(why);
  const limit = Sequence.limitFor(cfg, req.promptIds, sampling);
  const need = target.lane.cache.bytesFor(1, capacityFor(limit, cfg.maxPositions));
  if (need > kvBudget)
    throw new InvalidRequestError(
      `prompt + max tokens (${limit} positions) need ${need} bytes of KV cache; the engine's kvCacheBytes is ${kvBudget}`,
    );
  let seq: Sequence;
  try {
    seq = new Sequence(cfg, [...req.promptIds], sampling, tok, limit);
  } catch (e) {
    if (e instanceof GenerationError) throw new InvalidRequestError(e.message);
    throw e;
  }
  return new HostedRequest(target, seq, req.onToken, (r, e) => s.settled(r, e));
}

export class Scheduler {
  readonly models: HostedModel[] = [];
  private cursor = 0;
  private laneTurn = 0;
  private queued = 0;
  private closed = false;
  private wake: (() => void) | null = null;
  private readonly loopDone: Promise<void>;
  private readonly tput = new Throughput(10_000);
  private readonly totals = { submitted: 0, completed: 0, cancelled: 0, failed: 0, rejected: 0, promptTokens: 0, generatedTokens: 0 };
  private readonly aborts = new Map<HostedRequest, () => void>();
  readonly maxPerModel: number;

  private rowWaiters: (() => void)[] = [];

  constructor(
    private readonly opts: HostingOptions,
    base: HostedModel,
    /** an adapter's table row before a request of it is admitted: true when it has one (adapter-residency.ts) */
    private readonly ensureRow: (m: HostedModel) => boolean = () => true,
  ) {
    this.maxPerModel = opts.maxQueuePerModel ?? Math.ceil(opts.maxQueue / 2);
    this.models.push(base);
    this.loopDone = this.loop();
  }

  checkOpen(): void {
    if (this.closed) throw new OverCapacityError("the hosting engine is closed", 503, "closed");
  }

  add(m: HostedModel): void {
    this.models.push(m);
  }

  /** A table row was released outside a lane (an embedding): admit what now can, wake the loop and row waiters. */
  kick(): void {
    for (const w of this.rowWaiters.splice(0)) w();
    this.admit();
    this.wake?.();
  }

  /** Resolves when a request next leaves its lane (a table row may have become idle). */
  rowsChanged(): Promise<void> {
    return new Promise((resolve) => this.rowWaiters.push(resolve));
  }

  /** Queue a validated request; rejects (throws) when the queues are full and it could not start at once. */
  enqueue(r: HostedRequest, signal?: AbortSignal): HostedRequest {
    this.checkOpen();
    const m = r.target as HostedModel;
    if (signal?.aborted) throw new CancelledError("the request was cancelled before it was queued", "cancelled");
    m.queue.push(r);
    m.inflight++;
    this.queued++;
    this.admit();
    if (r.state === "queued") {
      const full =
        m.queue.length > this.maxPerModel
          ? new OverCapacityError(
              `over capacity: ${this.maxPerModel} requests for '${m.name ?? "base"}' are already waiting; retry later`,
              429,
              "model_queue_full",
            )
          : this.queued > this.opts.maxQueue
            ? new OverCapacityError(
                `over capacity: the queue is full (${this.opts.maxQueue} requests waiting); retry later`,
                503,
                "queue_full",
              )
            : null;
      if (full) {
        this.dequeue(r);
        this.totals.rejected++;
        throw full;
      }
    }
    this.totals.submitted++;
    this.totals.promptTokens += r.seq.prompt.length;
    if (signal) {
      const onAbort = () => this.cancel(r, new CancelledError("the request was cancelled", "cancelled"));
      signal.addEventListener("abort", onAbort, { once: true });
      this.aborts.set(r, () => signal.removeEventListener("abort", onAbort));
    }
    this.wake?.();
    return r;
  }

  /** Settle `r` with `e` now; a queued request leaves its queue, a running one its batch at the next step. */
  cancel(r: HostedRequest, e: HostingError): void {
    if (r.settled) return;
    const queued = r.state === "queued";
    r.fail(e);
    if (queued) this.dequeue(r);
    else this.wake?.();
  }

  /** Bookkeeping when a request settles (called by the request). */
  settled(r: HostedRequest, error: Error | null): void {
    this.aborts.get(r)?.();
    this.aborts.delete(r);
    const m = r.target as HostedModel;
    m.generatedTokens += r.seq.out.ids.length;
    this.totals.generatedTokens += r.seq.out.ids.length;
    if (!error) {
      m.completed++;
      this.totals.completed++;
    } else if (error instanceof CancelledError) this.totals.cancelled++;
    else this.totals.failed++;
  }

  /** Stop admitting for `m`; optionally cancel its requests; `free` runs once nothing of it is in flight. */
  async drain(m: HostedModel, cancelInFlight: boolean, free: () => void): Promise<void> {
    m.startDraining();
    if (cancelInFlight) {
      const mine = [...m.queue, ...m.lane.running.filter((r) => r.target === m), ...m.lane.pending.filter((r) => r.target === m)];
      for (const r of mine) this.cancel(r, new CancelledError(`'${m.name}' was deactivated`, "model_deactivated"));
    }
    const done = m.drained!.then(() => {
      this.models.splice(this.models.indexOf(m), 1);
      free();
    });
    this.checkDrained(m);
    this.wake?.();
    await done;
  }

  stats(fixed: Pick<EngineStats, "base" | "tables" | "tiers">): EngineStats {
    const lanes = this.lanes();
    const bytesPerToken = this.models[0]!.lane.cache.bytesPerSlotPosition;
    return {
      ...fixed,
      models: this.models.filter((m) => m.kind !== "base").map((m) => m.stats()),
      kvCache: {
        budgetBytes: this.opts.kvCacheBytes,
        allocatedBytes: lanes.reduce((s, l) => s + l.cache.bytes, 0),
        usedBytes: lanes.reduce((s, l) => s + l.usedPositions * l.cache.bytesPerSlotPosition, 0),
        bytesPerToken,
        stagingBytes: lanes.reduce((s, l) => s + l.stagingBytes, 0),
      },
      prefixCache: this.models[0]!.lane.prefixCache?.stats() ?? null,
      queue: { length: this.queued, max: this.opts.maxQueue, maxPerModel: this.maxPerModel },
      batch: {
        running: lanes.reduce((s, l) => s + l.running.length, 0),
        pending: lanes.reduce((s, l) => s + l.pending.length, 0),
        maxBatchSize: this.opts.maxBatchSize,
        sessions: lanes.length,
      },
      tokensPerSecond: this.tput.rate(),
      totals: { ...this.totals },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return this.loopDone;
    this.closed = true;
    const err = () => new CancelledError("the hosting engine closed", "closed");
    for (const m of this.models) for (const r of [...m.queue, ...m.lane.running, ...m.lane.pending]) this.cancel(r, err());
    this.wake?.();
    await this.loopDone;
  }

  private lanes(): Lane[] {
    return [...new Set(this.models.map((m) => m.lane))];
  }

  private dequeue(r: HostedRequest): void {
    const m = r.target as HostedModel;
    const i = m.queue.indexOf(r);
    if (i < 0) return;
    m.queue.splice(i, 1);
    this.queued--;
    this.left(r);
  }

  /** A request is out of its queue and lane for good. */
  private left(r: HostedRequest): void {
    const m = r.target as HostedModel;
    m.inflight--;
    this.checkDrained(m);
    for (const w of this.rowWaiters.splice(0)) w();
  }

  private checkDrained(m: HostedModel): void {
    if (m.isDrained) m.markDrained();
  }

  /**
   * Move queued requests into lanes, one per model in turn (round-robin from where the last admission
   * stopped), while their lane has a free row and the KV budget allows. A head that does not fit the
   * budget stops admission, so that large requests are not overtaken forever.
   */
  private admit(): void {
    for (;;) {
      const n = this.models.length;
      let admitted = false;
      for (let i = 0; i < n; i++) {
        const k = (this.cursor + i) % n;
        const m = this.models[k]!;
        const r = m.queue[0];
        if (!r || m.lane.size >= this.opts.maxBatchSize) continue;
        const others = this.lanes().reduce((s, l) => (l === m.lane ? s : s + l.bytesWith()), 0);
        if (others + m.lane.bytesWith(r.seq.limit) > this.opts.kvCacheBytes) return;
        if (!this.hasRow(m, r)) continue;
        m.queue.shift();
        this.queued--;
        r.state = "running";
        r.admitted = performance.now();
        m.lane.pending.push(r);
        this.cursor = (k + 1) % n;
        admitted = true;
        break;
      }
      if (!admitted) return;
    }
  }

  /** Whether `m` has its table row (a cold adapter waits for one); a failed load fails the request. */
  private hasRow(m: HostedModel, r: HostedRequest): boolean {
    try {
      return this.ensureRow(m);
    } catch (e) {
      this.cancel(r, e instanceof HostingError ? e : new HostingError(String(e), 500, "internal"));
      return false;
    }
  }

  private async loop(): Promise<void> {
    while (!this.closed || this.lanes().some((l) => l.size > 0)) {
      this.admit();
      const lanes = this.lanes();
      let worked = false;
      for (let i = 0; i < lanes.length; i++) {
        const lane = lanes[(this.laneTurn + i) % lanes.length]!;
        // anything thrown here fails this session's requests, never the loop: a dead loop would hang them all
        try {
          this.reap(lane);
          if (lane.size === 0) continue;
          worked = true;
          if (lane.pending.length) {
            await lane.prefill();
            this.tput.add(lane.lastStepTokens);
            this.reap(lane);
          }
          if (lane.running.length) {
            await lane.decode();
            this.tput.add(lane.lastStepTokens);
            this.reap(lane);
          }
        } catch (e) {
          const err = new HostingError(`model step failed: ${(e as Error).message}`, 500, "internal");
          for (const r of lane.failAll(err)) this.left(r);
        }
        this.admit();
      }
      this.laneTurn++;
      if (!worked) {
        if (this.closed) break;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
      }
    }
  }

  private reap(lane: Lane): void {
    for (const r of lane.reap()) this.left(r);
  }
}
