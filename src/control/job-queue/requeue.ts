// Node loss, the fine-tune half: once the lost node's reservations have moved (the node-loss handler
// re-places them), its live fine-tune jobs are queued again for the node that now holds each job's unit;
// that node resumes from the last checkpoint in shared storage (the trainer's run directory).

import { Capacity } from "../capacity.ts";
import type { Logger } from "../config.ts";
import { silentLogger } from "../config.ts";
import type { SprigStore } from "../context.ts";
import type { UnitSpec } from "../executors.ts";
import { type FineTuneQueue, openFineTuneQueue } from "./queue.ts";

export interface RequeueOptions {
  store: SprigStore;
  /** the queue (default: one opened on the store for this call) */
  queue?: FineTuneQueue;
  log?: Logger;
}

export interface RequeueResult {
  /** fine-tunes queued again, and where */
  moved: { modelId: string; jobId: string; toNode: string; unit: number }[];
  /** fine-tunes that could not move (their cluster has no unit on another node): their job failed with the reason */
  failed: { modelId: string; reason: string }[];
  /** jobs dropped because their fine-tune no longer runs (ended, canceled, or back in the control plane's queue) */
  dropped: string[];
}

/**
 * Re-queue the live fine-tune jobs of a lost node (queued, retrying or running there) for the nodes that
 * now hold their clusters' units. Call after the lost node's reservations moved. A job whose cluster kept no
 * unit elsewhere fails with the reason; the control plane then resumes it when a unit frees, up to its
 * attempt limit, or fails it. Safe to call twice: a job already moved is no longer the lost node's.
 */
export async function requeueJobsOfNode(nodeId: string, o: RequeueOptions): Promise<RequeueResult> {
  if (o.queue) return requeue(nodeId, o.store, o.queue, o.log ?? silentLogger);
  const queue = await openFineTuneQueue(o.store);
  try {
    return await requeue(nodeId, o.store, queue, o.log ?? silentLogger);
  } finally {
    await queue.close();
  }
}

async function requeue(nodeId: string, store: SprigStore, queue: FineTuneQueue, log: Logger): Promise<RequeueResult> {
  const capacity = new Capacity(store.nodes, async (id) => (await store.clusters.get(id))?.value ?? null);
  const out: RequeueResult = { moved: [], failed: [], dropped: [] };
  for (const job of await queue.jobsOf(nodeId, ["created", "retry", "active"])) {
    const row = await store.fineTunes.job(job.modelId);
    if (row?.state !== "RUNNING") {
      // nothing waits for this job: the control plane queues the fine-tune again itself if it should run
      await queue.fail(job, `node ${nodeId} was lost; the fine-tune is ${row?.state ?? "gone"}`, false);
      out.dropped.push(job.modelId);
      continue;
    }
    const spec = job.data.spec;
    const units = (await capacity.units(row.clusterId)).filter((u) => u.nodeId !== nodeId);
    // the same unit where it went, else any unit of the cluster off the lost node
    const unit: UnitSpec | undefined = units.find((u) => u.index === spec.unit.index) ?? units[0];
    if (!unit) {
      const reason = `node ${nodeId} was lost and cluster ${row.clusterId} has no unit on another node`;
      // no retry: it would come back on the lost node's queue
      await queue.fail(job, reason, false);
      await store.fineTunes.addEvent(job.modelId, "WARN", reason);
      out.failed.push({ modelId: job.modelId, reason });
      continue;
    }
    const id = await queue.move(job, { ...spec, unit, threads: unit.cores.length });
    const msg = `node ${nodeId} was lost; the fine-tune moves to node ${unit.nodeId} (unit ${unit.index}) and resumes from its last checkpoint`;
    await store.fineTunes.addEvent(job.modelId, "WARN", msg);
    await store.workRequests.addLog(row.workRequestId, msg);
    log.warn({ modelId: job.modelId, from: nodeId, to: unit.nodeId }, "re-queued a fine-tune of a lost node");
    out.moved.push({ modelId: job.modelId, jobId: id, toNode: unit.nodeId, unit: unit.index });
  }
  return out;
}
