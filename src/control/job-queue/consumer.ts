// A node's fine-tune consumer: claims the jobs queued for its node id and runs each as today's pinned
// worker process on the unit's reserved cores, recording progress in the store and the outcome on the
// job. A fine-tune runs under its run lock (one session at a time, whichever node): a job that comes back
// while its old run goes on (expired and retried, or re-queued while a node thought lost still runs it)
// waits for that run instead of starting a second one.

import { existsSync } from "node:fs";
import { Background, type SprigStore, WorkRequests } from "../context.ts";
import type { Logger } from "../config.ts";
import { silentLogger } from "../config.ts";
import type { FineTuneExecutor, FineTuneOutcome, FineTuneRun } from "../executors.ts";
import { recordRun } from "../fine-tunes.ts";
import { ProcessFineTune, type WorkerOptions } from "../workers/process-executors.ts";
import { type FineTuneQueue, type QueuedJob, type RunLock, openFineTuneQueue } from "./queue.ts";

export interface ConsumerOptions {
  /** the store on the cluster's PostgreSQL database (the consumer writes progress and events there) */
  store: SprigStore;
  /** the queue (default: one opened on the store, closed by stop) */
  queue?: FineTuneQueue;
  /** the node whose jobs this consumer claims: the id it registered in the node registry */
  nodeId: string;
  /** the shared artifacts directory, named in the error when a job's files are out of this node's reach */
  artifactsDir?: string;
  log?: Logger;
  /** settings of the worker processes (heartbeat timeout, extra Node flags) */
  worker?: WorkerOptions;
  /** runs the jobs (default: worker processes, as the embedded service runs them) */
  executor?: FineTuneExecutor;
  /** how often the queue is polled for jobs, and running jobs checked for a cancel (default 2 s) */
  pollMs?: number;
}

export interface FineTuneConsumer {
  /** ids of the fine-tunes running here now */
  running(): string[];
  /** Stop claiming; running fine-tunes stop at their next step (after a checkpoint) and go back to the queue. */
  stop(): Promise<void>;
}

const stale = (why: string): FineTuneOutcome => ({ ok: false, code: "WorkerCrashed", message: why, crashed: true });

export async function startFineTuneConsumer(opts: ConsumerOptions): Promise<FineTuneConsumer> {
  const log = opts.log ?? silentLogger;
  const own = opts.queue ? null : await openFineTuneQueue(opts.store, {}, (e) => log.error({ err: String(e) }, "job queue error"));
  const o = { ...opts, queue: opts.queue ?? own! };
  const bg = new Background(() => log);
  const wr = new WorkRequests({ store: o.store, bg });
  const executor = o.executor ?? new ProcessFineTune(o.worker ?? {});
  const pollMs = o.pollMs ?? 2000;
  const store = o.store;
  /** runs of this process by fine-tune id: a job claimed again while its run goes on joins it */
  const runs = new Map<string, { run: FineTuneRun; outcome: Promise<FineTuneOutcome> }>();
  const handling = new Set<Promise<void>>();
  let stopping = false;

  const note = async (modelId: string, wrId: string | undefined, level: "INFO" | "WARN", msg: string) => {
    await store.fineTunes.addEvent(modelId, level, msg);
    if (wrId) await wr.log(wrId, msg);
  };

  /** Why the run of `job` must stop now, or null: canceled, the control plane stopped it, or the job moved. */
  const stopReason = async (job: QueuedJob, wrId: string): Promise<string | null> => {
    if (stopping) return "the node is stopping";
    const j = await store.fineTunes.job(job.modelId);
    if (j?.state !== "RUNNING") return `the fine-tune is ${j?.state ?? "gone"}`;
    if ((await store.workRequests.get(wrId))?.status === "CANCELING") return "canceled by request";
    const cur = await o.queue.current(job.modelId);
    if (!cur || cur.queue !== job.queue || cur.state === "cancelled") return "the job was moved to another node";
    return null;
  };

  /** The run lock, waiting while another session holds it; null when the job stopped being ours meanwhile. */
  const lockFor = async (job: QueuedJob, wrId: string): Promise<RunLock | null> => {
    let told = false;
    for (;;) {
      const lock = await o.queue.tryLock(job.modelId);
      if (lock) return lock;
      if (await stopReason(job, wrId)) return null;
      if (!told)
        await note(job.modelId, wrId, "WARN", `node ${o.nodeId}: an earlier run of this fine-tune is still going; waiting for it to end`);
      told = true;
      await new Promise((res) => setTimeout(res, pollMs));
    }
  };

  const run = async (job: QueuedJob): Promise<void> => {
    const { spec } = job.data;
    if (stopping) {
      await o.queue.fail(job, `node ${o.nodeId} stopped before the job started`);
      return;
    }
    const joined = runs.get(job.modelId);
    if (joined) {
      // the job expired and came back while this process still runs it: answer with that run's outcome
      await o.queue.complete(job, await joined.outcome);
      return;
    }
    const row = await store.fineTunes.job(job.modelId);
    if (row?.state !== "RUNNING") {
      await o.queue.complete(job, stale(`the fine-tune was ${row?.state ?? "gone"} when node ${o.nodeId} claimed its job`));
      return;
    }
    const lock = await lockFor(job, row.workRequestId);
    if (!lock) return;
    try {
      // the run it waited for may have finished the fine-tune, or the job moved meanwhile
      const why = await stopReason(job, row.workRequestId);
      if (why) {
        await o.queue.complete(job, stale(`node ${o.nodeId} did not start the fine-tune: ${why}`));
        return;
      }
      const missing = [spec.baseModelDir, spec.dataFile, spec.validationDataFile].filter((p) => p !== undefined && !existsSync(p));
      if (missing.length) {
        const where = o.artifactsDir ? ` (this node's artifacts directory is ${o.artifactsDir})` : "";
        await o.queue.complete(
          job,
          stale(`node ${o.nodeId} cannot read ${missing.join(", ")}${where}: artifacts and data must sit in storage every node reaches`),
        );
        return;
      }
      const cores = `${spec.unit.cores.join(",")}${spec.unit.pin ? "" : ", unpinned"}`;
      await note(job.modelId, row.workRequestId, "INFO", `node ${o.nodeId} claimed the job (unit ${spec.unit.index}, cores ${cores})`);
      const rec = recordRun(store, wr, job.modelId, row.workRequestId, log);
      const r = executor.start(spec, rec.events);
      const outcome = r.done.then(async (x) => {
        await rec.drained();
        return x;
      });
      runs.set(job.modelId, { run: r, outcome });
      const watch = setInterval(() => {
        void stopReason(job, row.workRequestId).then(
          (why) => {
            if (!why) return;
            log.info({ modelId: job.modelId, nodeId: o.nodeId, why }, "stopping a fine-tune");
            r.cancel();
          },
          (e: unknown) => log.error({ err: String(e) }, "checking a fine-tune failed"),
        );
      }, pollMs);
      const result = await outcome.finally(() => clearInterval(watch));
      runs.delete(job.modelId);
      // stopped with the node: back to this node's queue (or to another node's, by the node-loss re-queue)
      if (stopping && !result.ok && result.canceled) await o.queue.fail(job, `node ${o.nodeId} stopped; resuming from the checkpoint`);
      else await o.queue.complete(job, result);
    } finally {
      await lock.release();
    }
  };

  const handle = (job: QueuedJob): void => {
    const p = run(job)
      .catch(async (e: unknown) => {
        log.error({ err: String(e), modelId: job.modelId }, "running a queued fine-tune failed");
        await o.queue.fail(job, `node ${o.nodeId}: ${(e as Error)?.message ?? String(e)}`).catch(() => {});
      })
      .finally(() => handling.delete(p));
    handling.add(p);
  };

  // jobs left active by an earlier consumer of this node that died: nobody holds their run lock, so they are
  // failed at once and come back through pg-boss's retry (rather than waiting for their expiry)
  for (const job of await o.queue.jobsOf(o.nodeId, ["active"])) {
    const lock = await o.queue.tryLock(job.modelId);
    if (!lock) continue;
    await lock.release();
    await o.queue.fail(job, `the consumer of node ${o.nodeId} stopped while the job ran`);
    log.warn({ modelId: job.modelId, nodeId: o.nodeId }, "a fine-tune job was left running by an earlier consumer: retrying it");
  }

  let timer: NodeJS.Timeout | null = null;
  let polling: Promise<void> = Promise.resolve();
  const poll = async (): Promise<void> => {
    timer = null;
    if (stopping) return;
    try {
      // the control plane queues a job only for a free unit, so claiming all is bounded by the node's units
      for (const job of await o.queue.claim(o.nodeId, 8)) handle(job);
    } catch (e) {
      log.error({ err: String(e), nodeId: o.nodeId }, "claiming fine-tune jobs failed");
    }
    if (!stopping) timer = setTimeout(() => (polling = poll()), pollMs);
  };
  polling = poll();
  log.info({ nodeId: o.nodeId }, "fine-tune consumer started");

  return {
    running: () => [...runs.keys()],
    async stop() {
      if (stopping) return;
      stopping = true;
      if (timer) clearTimeout(timer);
      await polling;
      for (const { run: r } of runs.values()) r.cancel();
      while (handling.size) await Promise.allSettled([...handling]);
      await bg.drain();
      await own?.close();
    },
  };
}
