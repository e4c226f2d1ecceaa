// The control plane's fine-tune executor in PostgreSQL mode: a run is a job queued for the node that
// holds the unit (no local fork). The node's consumer records progress in the store itself; this side
// waits for the job's outcome, whichever node ends up running it (a re-queued job moves to another node).
// A run outlives the API node that queued it: the API node that takes the scheduler lease next adopts it.

import type { FineTuneEvents, FineTuneExecutor, FineTuneOutcome, FineTuneRun, FineTuneSpec, UnitSpec } from "../executors.ts";
import type { FineTuneQueue, QueuedJob } from "./queue.ts";

export interface QueuedExecutorOptions {
  /** how often the outcome is looked for (default 1 s) */
  pollMs?: number;
  /** after cancel, how long to wait for the node to confirm before giving up on it (default 60 s) */
  cancelGraceMs?: number;
}

const crashed = (message: string): FineTuneOutcome => ({ ok: false, code: "WorkerCrashed", message, crashed: true });

/** The outcome a job's final state stands for, or null while the job is live. */
export function outcomeOfJob(j: QueuedJob): FineTuneOutcome | null {
  if (j.state === "completed") return j.output?.outcome ?? crashed(`the fine-tune's job on ${j.queue} completed without an outcome`);
  if (j.state === "failed")
    return crashed(`the fine-tune's job on ${j.queue} failed: ${j.output?.message ?? j.output?.value?.message ?? "no reason given"}`);
  if (j.state === "cancelled") return crashed(`the fine-tune's job on ${j.queue} was cancelled in the queue`);
  return null;
}

export class QueuedFineTune implements FineTuneExecutor {
  constructor(
    private readonly queue: FineTuneQueue,
    private readonly o: QueuedExecutorOptions = {},
  ) {}

  start(spec: FineTuneSpec, ev: FineTuneEvents): FineTuneRun {
    return this.follow(spec.jobId, spec.unit.nodeId, async () => {
      const id = await this.queue.enqueue(spec);
      ev.onLog(`queued for node ${spec.unit.nodeId} (job ${id})`);
    });
  }

  async adopt(jobId: string): Promise<{ unit: UnitSpec; run: FineTuneRun } | null> {
    const j = await this.queue.current(jobId);
    if (!j) return null;
    // a job that ended meanwhile is followed too: its outcome is the run's
    return { unit: j.data.spec.unit, run: this.follow(jobId, j.data.spec.unit.nodeId, async () => {}) };
  }

  /** Wait for the outcome of the fine-tune's newest job, after `first`. */
  private follow(jobId: string, nodeId: string, first: () => Promise<void>): FineTuneRun {
    const pollMs = this.o.pollMs ?? 1000;
    let giveUp: FineTuneOutcome | null = null;
    let wake: (() => void) | null = null;
    const sleep = () =>
      new Promise<void>((res) => {
        const t = setTimeout(res, pollMs);
        wake = () => {
          clearTimeout(t);
          res();
        };
      });
    const done = (async (): Promise<FineTuneOutcome> => {
      await first();
      for (;;) {
        if (giveUp) return giveUp;
        const j = await this.queue.current(jobId);
        // a re-queue cancels the old job and queues the new one in one transaction: the newest is the one that counts
        if (!j) return crashed("the fine-tune's job is no longer in the queue");
        const o = outcomeOfJob(j);
        if (o) return o;
        await sleep();
      }
    })().catch((e: Error) => crashed(`the job queue failed: ${e.message}`));
    const stop = (o: FineTuneOutcome) => {
      giveUp = o;
      wake?.();
    };
    return {
      done,
      // the node's consumer sees the cancel in the store (work request CANCELING, or the job no longer RUNNING)
      // and stops its worker; a node that never answers is given up on after the grace period
      cancel: () => {
        setTimeout(
          () => stop(crashed(`node ${nodeId} did not confirm that the fine-tune stopped`)),
          this.o.cancelGraceMs ?? 60_000,
        ).unref();
      },
      // the job goes on on its node; another API node follows it
      detach: () => stop(crashed("this API node stopped following the fine-tune")),
    };
  }
}
