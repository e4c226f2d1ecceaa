// The control plane's fine-tune executor in PostgreSQL mode: a run is a job queued for the node that
// holds the unit (no local fork). The node's consumer records progress in the store itself; this side
// waits for the job's outcome, whichever node ends up running it (a re-queued job moves to another node).

import type { FineTuneEvents, FineTuneExecutor, FineTuneOutcome, FineTuneRun, FineTuneSpec } from "../executors.ts";
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
      const id = await this.queue.enqueue(spec);
      ev.onLog(`queued for node ${spec.unit.nodeId} (job ${id})`);
      for (;;) {
        if (giveUp) return giveUp;
        const j = await this.queue.current(spec.jobId);
        // a re-queue cancels the old job and queues the new one in one transaction: the newest is the one that counts
        if (!j) return crashed("the fine-tune's job is no longer in the queue");
        const o = outcomeOfJob(j);
        if (o) return o;
        await sleep();
      }
    })().catch((e: Error) => crashed(`the job queue failed: ${e.message}`));
    return {
      done,
      // the node's consumer sees the cancel in the store (work request CANCELING, or the job no longer RUNNING)
      // and stops its worker; a node that never answers is given up on after the grace period
      cancel: () => {
        setTimeout(() => {
          giveUp = crashed(`node ${spec.unit.nodeId} did not confirm that the fine-tune stopped`);
          wake?.();
        }, this.o.cancelGraceMs ?? 60_000).unref();
      },
    };
  }
}
