// An in-process FineTuneQueue with pg-boss's job states: per-node queues, one live job per fine-tune,
// retries, and run locks a test can hold as "another session" (a run elsewhere still going).

import type { FineTuneOutcome, FineTuneSpec } from "../../../src/control/index.ts";
import type { FineTuneQueue, QueuedJob, RunLock } from "../../../src/control/job-queue/index.ts";
import { queueOf } from "../../../src/control/job-queue/index.ts";

/** A fine-tune spec for job `jobId` on one unit of `nodeId` (paths in the shared artifact storage). */
export const spec = (jobId: string, nodeId: string): FineTuneSpec => ({
  jobId,
  baseModelDir: "/shared/base",
  initAdapterDir: null,
  dataFile: "/shared/data.jsonl",
  outputDir: `/shared/models/${jobId}`,
  checkpointDir: `/shared/jobs/${jobId}/checkpoints`,
  method: "tfew",
  trainingConfig: {},
  threads: 1,
  unit: { index: 0, nodeId, cores: [0], memoryBytes: 1024 ** 3, pin: false },
});

const LIVE: readonly QueuedJob["state"][] = ["created", "retry", "active"];

export class FakeQueue implements FineTuneQueue {
  readonly jobs: (QueuedJob & { retries: number })[] = [];
  /** fine-tunes whose run lock some session holds */
  readonly locks = new Set<string>();
  private n = 0;

  constructor(private readonly retryLimit = 3) {}

  private add(spec: FineTuneSpec): string {
    const id = `job-${++this.n}`;
    this.jobs.push({
      id,
      queue: queueOf(spec.unit.nodeId),
      modelId: spec.jobId,
      state: "created",
      data: { spec },
      output: null,
      retries: 0,
    });
    return id;
  }

  async enqueue(spec: FineTuneSpec): Promise<string> {
    return this.jobs.find((j) => j.modelId === spec.jobId && LIVE.includes(j.state))?.id ?? this.add(spec);
  }

  async current(modelId: string): Promise<QueuedJob | null> {
    return this.jobs.filter((j) => j.modelId === modelId).at(-1) ?? null;
  }

  async claim(nodeId: string, n: number): Promise<QueuedJob[]> {
    const got = this.jobs.filter((j) => j.queue === queueOf(nodeId) && (j.state === "created" || j.state === "retry")).slice(0, n);
    for (const j of got) j.state = "active";
    return got.map((j) => ({ ...j }));
  }

  async jobsOf(nodeId: string, states: readonly QueuedJob["state"][]): Promise<QueuedJob[]> {
    return this.jobs.filter((j) => j.queue === queueOf(nodeId) && states.includes(j.state)).map((j) => ({ ...j }));
  }

  private get(job: QueuedJob) {
    return this.jobs.find((j) => j.id === job.id)!;
  }

  async complete(job: QueuedJob, outcome: FineTuneOutcome): Promise<void> {
    const j = this.get(job);
    if (j.state !== "active") return;
    j.state = "completed";
    j.output = { outcome };
  }

  async fail(job: QueuedJob, message: string, retry = true): Promise<void> {
    const j = this.get(job);
    if (!LIVE.includes(j.state)) return;
    j.state = retry && j.retries < this.retryLimit ? "retry" : "failed";
    if (j.state === "retry") j.retries++;
    j.output = { message };
  }

  /** What pg-boss's expiry does to an active job whose consumer went silent. */
  expire(modelId: string): void {
    const j = this.jobs.find((x) => x.modelId === modelId && x.state === "active")!;
    j.state = "retry";
    j.retries++;
  }

  async move(job: QueuedJob, spec: FineTuneSpec): Promise<string> {
    this.get(job).state = "cancelled";
    return this.add(spec);
  }

  async tryLock(modelId: string): Promise<RunLock | null> {
    if (this.locks.has(modelId)) return null;
    this.locks.add(modelId);
    return { release: async () => void this.locks.delete(modelId) };
  }

  async close(): Promise<void> {}
}
