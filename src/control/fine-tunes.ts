// Fine-tune jobs: a CUSTOM model is created CREATING with a CREATE_MODEL work request and a QUEUED job;
// each FINE_TUNING cluster runs up to unitCount jobs at once, each in a worker process on one of the
// cluster's reserved units (pinned to its cores) and nowhere else. A job whose worker died
// (SIGKILL, crash, server restart) is resumed from its checkpoint up to maxFineTuneAttempts, then FAILED.
// Only the holder of the scheduler lease launches jobs (one API node of several; always this process when
// embedded); a node that takes the lease over adopts the runs its predecessor followed (multi-node/scheduler-lease.ts).

import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { Mutation } from "./clusters.ts";
import type { ControlContext, Scope, WorkRequests } from "./context.ts";
import { fetchVisible, visible } from "./context.ts";
import { badRequest, conflict, incorrectState, notFound } from "./errors.ts";
import type { FineTuneEvents, FineTuneMethod, FineTuneOutcome, FineTuneRun, UnitSpec } from "./executors.ts";
import { commonFields, now, ocid } from "./ids.ts";
import { weightFileBytes } from "./models.ts";
import type { CreateModelDetails } from "./requests.ts";
import type { SchedulerLease } from "./multi-node/scheduler-lease.ts";
import type { Model, TrainingConfig } from "./resources.ts";
import { runDirFor } from "../training/index.ts";
import { METHODS } from "../training/index.ts";

export const METHOD: Record<TrainingConfig["trainingConfigType"], FineTuneMethod> = {
  TFEW_TRAINING_CONFIG: "tfew",
  LORA_TRAINING_CONFIG: "lora",
  VANILLA_TRAINING_CONFIG: "vanilla",
};

/** How a fine-tune run ends; `resumed` = crashed with attempts left (back to QUEUED, resumes from its checkpoint). */
type Ending = "succeeded" | "canceled" | "resumed" | "failed";
type OutcomeOf<K extends Ending> = Extract<FineTuneOutcome, { ok: K extends "succeeded" ? true : false }>;
type Job = NonNullable<Awaited<ReturnType<ControlContext["store"]["fineTunes"]["job"]>>>;

/** The ending of a run that did not succeed. */
function endingOf(o: OutcomeOf<"failed">, canceled: boolean, attempts: number, maxAttempts: number): Exclude<Ending, "succeeded"> {
  if (canceled) return "canceled";
  return o.crashed && attempts < maxAttempts ? "resumed" : "failed";
}

/**
 * What a run's worker reports, recorded in the store: progress of the work request, the metrics history and
 * the event log. The worker reports synchronously; writes are queued in order, `drained` waits for them.
 * Used where the run's worker is: the control plane (local workers) or a node's queue consumer.
 */
export function recordRun(
  store: ControlContext["store"],
  wr: WorkRequests,
  modelId: string,
  wrId: string,
  log: ControlContext["log"],
): { events: FineTuneEvents; drained(): Promise<void> } {
  let writes: Promise<void> = Promise.resolve();
  const later = (f: () => Promise<void>): void => {
    writes = writes.then(f).catch((e: unknown) => log.error({ jobId: modelId, err: String(e) }, "recording progress failed"));
  };
  return {
    events: {
      onProgress: (p) =>
        later(async () => {
          await wr.progress(wrId, (100 * p.step) / Math.max(1, p.totalSteps));
          const { step, ...rest } = p;
          // a step's validation point arrives after its training point: merge them
          await store.fineTunes.addMetrics(modelId, step, rest, true);
        }),
      onLog: (msg) =>
        later(async () => {
          await store.fineTunes.addEvent(modelId, "INFO", msg);
          await wr.log(wrId, msg);
        }),
    },
    drained: () => writes,
  };
}

export class FineTunes {
  private readonly running = new Map<string, FineTuneRun>();
  /** the unit each running job holds: job model id → { cluster, unit index } */
  private readonly unitOf = new Map<string, { clusterId: string; unit: number }>();
  private readonly canceled = new Set<string>();
  private closed = false;
  /** kicks run one after another: each reads which units are free, then takes one */
  private kicking: Promise<void> = Promise.resolve();
  /** bumped each time the lease is taken or lost: outcomes of runs followed under an older one are not this node's to record */
  private term = 0;

  constructor(
    private readonly ctx: ControlContext,
    private readonly wr: WorkRequests,
    private readonly lease: SchedulerLease,
  ) {}

  private get store() {
    return this.ctx.store;
  }

  private modelDir(id: string): string {
    return join(this.store.paths.artifacts, "models", id);
  }

  private checkpointDir(id: string): string {
    return join(this.store.paths.artifacts, "jobs", id, "checkpoints");
  }

  /** Jobs running or queued on a cluster. */
  async onCluster(clusterId: string): Promise<number> {
    return (await this.store.fineTunes.jobsInStates(["QUEUED", "RUNNING"])).filter((j) => j.clusterId === clusterId).length;
  }

  async create(scope: Scope, d: CreateModelDetails): Promise<Mutation<Model>> {
    const ft = d.fineTuneDetails!;
    const { value: cluster } = await fetchVisible(
      (x) => this.store.clusters.get(x),
      scope,
      "dedicated AI cluster",
      ft.dedicatedAiClusterId,
    );
    if (cluster.type !== "FINE_TUNING")
      throw conflict(
        `fineTuneDetails.dedicatedAiClusterId: cluster ${cluster.id} is a ${cluster.type} cluster; fine-tuning needs a FINE_TUNING cluster`,
      );
    if (cluster.lifecycleState !== "ACTIVE")
      throw incorrectState(
        `fineTuneDetails.dedicatedAiClusterId: cluster ${cluster.id} is ${cluster.lifecycleState}; it must be ACTIVE${cluster.lifecycleDetails ? ` (${cluster.lifecycleDetails})` : ""}`,
      );
    const { value: base } = await fetchVisible((x) => this.store.models.get(x), scope, "model", d.baseModelId!);
    if (base.lifecycleState !== "ACTIVE")
      throw incorrectState(`baseModelId: model ${base.id} is ${base.lifecycleState}; it must be ACTIVE`);
    const config = ft.trainingConfig ?? { trainingConfigType: "TFEW_TRAINING_CONFIG" as const };
    const method = METHOD[config.trainingConfigType];
    const artifact = METHODS[method].artifact;
    if (artifact === "FULL" && base.artifactType === "ADAPTER")
      throw badRequest(
        `fineTuneDetails.trainingConfig.trainingConfigType: model ${base.id} is an adapter; vanilla fine-tuning needs a BASE or vanilla CUSTOM model`,
      );
    if (artifact === "ADAPTER" && base.type === "CUSTOM" && base.artifactType === "FULL")
      throw badRequest(
        `fineTuneDetails.trainingConfig.trainingConfigType: model ${base.id} is a vanilla fine-tune; continue it with VANILLA_TRAINING_CONFIG`,
      );
    for (const [field, ds] of [
      ["trainingDataset", ft.trainingDataset],
      ["validationDataset", ft.validationDataset],
    ] as const) {
      if (!ds) continue;
      const bucket = await this.store.objects.bucket(ds.namespaceName, ds.bucketName);
      if (
        !bucket ||
        !visible(scope, bucket.compartmentId) ||
        !(await this.store.objects.head(ds.namespaceName, ds.bucketName, ds.objectName))
      )
        throw notFound(`fineTuneDetails.${field}: object`, `/n/${ds.namespaceName}/b/${ds.bucketName}/o/${ds.objectName}`);
    }
    if (ft.validationDataset && ft.trainingConfig?.validationSplit !== undefined)
      throw badRequest("fineTuneDetails.trainingConfig.validationSplit: give a validation split or a validationDataset, not both");
    const t = now();
    const id = ocid("generativeaimodel");
    const m: Model = {
      ...commonFields(id, d, `${base.displayName}-${method}-${t.slice(0, 19).replace(/[-:T]/g, "")}`, "queued", t),
      type: "CUSTOM",
      baseModelId: base.id,
      vendor: d.vendor ?? base.vendor,
      version: d.version ?? "1",
      capabilities: base.capabilities,
      fineTuneDetails: { ...ft, trainingConfig: config },
      modelMetrics: null,
      lifecycleState: "CREATING",
      isLongTermSupported: false,
      // a full fine-tune is the root of its own line; an adapter needs its root base loaded under it
      rootBaseModelId: artifact === "FULL" ? id : base.rootBaseModelId,
      architecture: base.architecture,
      artifactType: artifact,
      trainableParameters: null,
      parameterCount: null,
      artifactBytes: null,
      artifactPath: this.modelDir(id),
    };
    const w = await this.store.tx(async () => {
      await this.store.models.insert(m);
      const w = await this.wr.create(m.compartmentId, "CREATE_MODEL", "Model", id, "IN_PROGRESS");
      await this.store.fineTunes.createJob({ modelId: id, workRequestId: w.id, clusterId: cluster.id, state: "QUEUED" });
      await this.store.fineTunes.addEvent(id, "INFO", `queued on cluster ${cluster.id} (${method})`);
      return w;
    });
    this.ctx.bg.run("fine-tune schedule", () => this.kick());
    const row = (await this.store.models.get(id))!;
    return { value: row.value, etag: row.etag, workRequestId: w.id };
  }

  /** Units of a cluster that running jobs hold. */
  busyUnits(clusterId: string): number[] {
    return [...this.unitOf.values()].filter((u) => u.clusterId === clusterId).map((u) => u.unit);
  }

  /** Start queued jobs on every cluster that has a free unit (a reserved one no job holds). */
  kick(): Promise<void> {
    const p = this.kicking.then(() => this.kickNow());
    this.kicking = p.catch(() => {});
    return p;
  }

  private async kickNow(): Promise<void> {
    if (this.closed || this.ctx.bg.closed || !this.lease.held()) return;
    for (const j of await this.store.fineTunes.jobsInStates(["QUEUED"])) {
      // a launch that failed at once kicks again: this list may be stale by now
      if (this.unitOf.has(j.modelId) || (await this.store.fineTunes.job(j.modelId))?.state !== "QUEUED") continue;
      const cluster = (await this.store.clusters.get(j.clusterId))?.value;
      if (!cluster) continue;
      const busy = new Set(this.busyUnits(cluster.id));
      const unit = (await this.ctx.capacity.units(cluster.id)).find((u) => u.index < cluster.unitCount && !busy.has(u.index));
      if (!unit) continue;
      this.unitOf.set(j.modelId, { clusterId: cluster.id, unit: unit.index });
      await this.launch(j.modelId, j.workRequestId, unit);
    }
  }

  private async launch(modelId: string, wrId: string, unit: UnitSpec): Promise<void> {
    const m = (await this.store.models.get(modelId))!.value;
    const parent = (await this.store.models.get(m.baseModelId!))!.value;
    const ds = m.fineTuneDetails!.trainingDataset;
    const dataFile = await this.store.objects.path(ds.namespaceName, ds.bucketName, ds.objectName);
    const vs = m.fineTuneDetails!.validationDataset;
    const validationDataFile = vs ? await this.store.objects.path(vs.namespaceName, vs.bucketName, vs.objectName) : undefined;
    const { trainingConfigType, ...trainingConfig } = m.fineTuneDetails!.trainingConfig!;
    const root = (await this.store.models.get(parent.rootBaseModelId))?.value;
    await this.store.fineTunes.setState(modelId, "RUNNING", true);
    const attempt = (await this.store.fineTunes.job(modelId))!.attempts;
    // the trainer keeps its checkpoints in the run directory beside the output (as the executor checks)
    const resuming = existsSync(runDirFor(m.artifactPath!));
    const where = `on unit ${unit.index} (node ${unit.nodeId}, cores ${unit.cores.join(",")}${unit.pin ? "" : ", unpinned"})`;
    await this.wr.start(
      wrId,
      attempt > 1
        ? `attempt ${attempt} ${where}: ${resuming ? "resuming from the last checkpoint" : "starting over (no checkpoint yet)"}`
        : `fine-tuning started ${where}`,
    );
    await this.setModel(modelId, { lifecycleDetails: "training" });
    if (!dataFile || (vs && !validationDataFile) || !root?.artifactPath)
      return this.finish(modelId, wrId, {
        ok: false,
        code: "InvalidInput",
        message: "the training data, the validation data or the base model is gone",
      });
    const rec = recordRun(this.store, this.wr, modelId, wrId, this.ctx.log);
    const run = this.ctx.fineTune.start(
      {
        jobId: modelId,
        baseModelDir: parent.artifactType === "FULL" ? parent.artifactPath! : root.artifactPath,
        initAdapterDir: parent.type === "CUSTOM" && parent.artifactType === "ADAPTER" ? parent.artifactPath : null,
        dataFile,
        ...(validationDataFile ? { validationDataFile } : {}),
        outputDir: m.artifactPath!,
        checkpointDir: this.checkpointDir(modelId),
        method: METHOD[trainingConfigType],
        trainingConfig,
        threads: unit.cores.length,
        unit,
      },
      rec.events,
    );
    this.follow(modelId, wrId, run, rec.drained);
  }

  /** Record `run`'s outcome when it ends, unless the lease changed hands meanwhile. */
  private follow(modelId: string, wrId: string, run: FineTuneRun, drained: () => Promise<void> = async () => {}): void {
    const term = this.term;
    this.running.set(modelId, run);
    void run.done
      .catch((e: Error): FineTuneOutcome => ({ ok: false, code: "InternalError", message: e.message, crashed: true }))
      .then(async (o) => {
        await drained();
        if (term === this.term) await this.finish(modelId, wrId, o);
      })
      .catch((e: unknown) => this.ctx.log.error({ err: String(e), modelId }, "fine-tune bookkeeping failed"));
  }

  private async setModel(id: string, patch: Partial<Model>): Promise<void> {
    await this.store.tx(async () => {
      const row = await this.store.models.getForUpdate(id);
      if (row && row.value.lifecycleState !== "DELETING" && row.value.lifecycleState !== "DELETED")
        await this.store.models.update({ ...row.value, ...patch, timeUpdated: now() });
    });
  }

  /** A run's outcome, whatever it is: one ending of ENDINGS, and never an unhandled exception. */
  private async finish(modelId: string, wrId: string, o: FineTuneOutcome): Promise<void> {
    this.running.delete(modelId);
    this.unitOf.delete(modelId);
    if (this.closed) return; // shutting down: the job stays RUNNING and resumes on the next start
    const job = await this.store.fineTunes.job(modelId);
    // an ending recorded already (a cancel on another API node while this one followed the run): nothing to add
    if (!job || job.state === "SUCCEEDED" || job.state === "FAILED" || job.state === "CANCELED") return;
    const canceled = this.canceled.delete(modelId) || (!o.ok && o.canceled === true);
    try {
      if (o.ok) await this.endings.succeeded(modelId, wrId, o, job);
      else await this.endings[endingOf(o, canceled, job.attempts, this.ctx.config.maxFineTuneAttempts)](modelId, wrId, o, job);
    } catch (e) {
      await this.failUnrecorded(modelId, wrId, e);
    }
    // not awaited: finish runs inside a kick when a launch fails at once, and kicks run one after another
    void this.kick().catch((e: unknown) => this.ctx.log.error({ err: String(e) }, "fine-tune schedule failed"));
  }

  /** What each ending does to the job, its model, its events and its work request. */
  private readonly endings: { [K in Ending]: (modelId: string, wrId: string, o: OutcomeOf<K>, job: Job) => Promise<void> } = {
    succeeded: async (modelId, wrId, o) => {
      // the trainer's own history (with validation metrics) completes the per-step points seen live
      for (const h of o.history ?? []) {
        const { step, ...rest } = h as { step: number };
        await this.store.fineTunes.addMetrics(modelId, step, rest, true);
      }
      await this.store.fineTunes.setState(modelId, "SUCCEEDED");
      await this.setModel(modelId, {
        lifecycleState: "ACTIVE",
        lifecycleDetails: null,
        modelMetrics: {
          modelMetricsType: "TEXT_GENERATION_MODEL_METRICS",
          finalAccuracy: o.finalAccuracy,
          finalLoss: o.finalLoss,
          ...(o.resolvedHyperparameters ? { resolvedHyperparameters: o.resolvedHyperparameters } : {}),
        },
        trainableParameters: o.trainableParameters,
        artifactBytes: weightFileBytes(this.modelDir(modelId)),
      });
      await this.store.fineTunes.addEvent(modelId, "INFO", `succeeded: accuracy ${o.finalAccuracy}, loss ${o.finalLoss}`);
      await this.wr.action(wrId, "CREATED");
      await this.wr.finish(wrId, "SUCCEEDED", "fine-tune succeeded");
      void rm(join(this.store.paths.artifacts, "jobs", modelId), { recursive: true, force: true });
    },
    canceled: async (modelId, wrId) => {
      await this.store.fineTunes.setState(modelId, "CANCELED");
      await this.setModel(modelId, { lifecycleState: "FAILED", lifecycleDetails: "canceled by request" });
      await this.store.fineTunes.addEvent(modelId, "WARN", "canceled");
      await this.wr.finish(wrId, "CANCELED", "fine-tune canceled");
    },
    resumed: async (modelId, wrId, o, job) => {
      await this.store.fineTunes.setState(modelId, "QUEUED");
      await this.store.fineTunes.addEvent(
        modelId,
        "WARN",
        `${o.message}; will resume (attempt ${job.attempts + 1} of ${this.ctx.config.maxFineTuneAttempts})`,
      );
      await this.wr.log(wrId, `${o.message}; resuming from the last checkpoint`);
    },
    failed: async (modelId, wrId, o, job) => {
      await this.store.fineTunes.setState(modelId, "FAILED");
      // thousands of bad lines: one transaction, not one commit each
      await this.store.tx(async () => {
        for (const l of o.lines ?? []) await this.wr.error(wrId, o.code, `line ${l.line}: ${l.reason}`);
      });
      const detail = o.lines?.length ? `${o.message} (${o.lines.length} bad line(s): see the work request's errors)` : o.message;
      if (!o.lines?.length) await this.wr.error(wrId, o.code, o.message);
      await this.setModel(modelId, {
        lifecycleState: "FAILED",
        lifecycleDetails: o.crashed ? `${detail} (gave up after ${job.attempts} attempts)` : detail,
      });
      await this.store.fineTunes.addEvent(modelId, "ERROR", detail);
      await this.wr.finish(wrId, "FAILED", "fine-tune failed");
    },
  };

  /** An ending that threw (the store refused a write, the output vanished): the job and its model end FAILED
   *  with the reason, as far as the store still takes writes; what it does not take is logged. */
  private async failUnrecorded(modelId: string, wrId: string, e: unknown): Promise<void> {
    const why = `the fine-tune's outcome could not be recorded: ${(e as Error)?.message ?? String(e)}`;
    this.ctx.log.error({ err: String(e), modelId }, why);
    const steps = [
      () => this.store.fineTunes.setState(modelId, "FAILED"),
      () => this.setModel(modelId, { lifecycleState: "FAILED", lifecycleDetails: why }),
      () => this.store.fineTunes.addEvent(modelId, "ERROR", why),
      () => this.wr.error(wrId, "InternalError", why),
      () => this.wr.finish(wrId, "FAILED", "fine-tune failed"),
    ];
    for (const step of steps) {
      try {
        await step();
      } catch (again) {
        this.ctx.log.error({ err: String(again), modelId }, "could not record a fine-tune's failure");
      }
    }
  }

  /** Cancel a queued or running fine-tune (the model becomes FAILED, its work request CANCELED). */
  async cancel(modelId: string): Promise<void> {
    const job = await this.store.fineTunes.job(modelId);
    if (!job || (job.state !== "QUEUED" && job.state !== "RUNNING")) throw incorrectState(`model ${modelId} has no fine-tune in progress`);
    await this.wr.status(job.workRequestId, "CANCELING");
    const run = this.running.get(modelId);
    if (run) {
      this.canceled.add(modelId);
      run.cancel();
    } else await this.finish(modelId, job.workRequestId, { ok: false, code: "Canceled", message: "canceled", canceled: true });
  }

  /** Start-up: take part in scheduling; this process schedules once (and whenever) it holds the lease. */
  async recover(): Promise<void> {
    await this.lease.start({ acquired: () => this.takeOver(), lost: () => this.stepDown() });
  }

  /**
   * The lease taken (at start, or from a node that died): jobs left RUNNING are followed again where the
   * executor's runs outlive their process (a job queue), else they count as crashed and resume or fail; then
   * queued jobs are launched.
   */
  private async takeOver(): Promise<void> {
    this.term++;
    for (const j of await this.store.fineTunes.jobsInStates(["RUNNING"])) {
      if (this.running.has(j.modelId)) continue;
      const adopted = (await this.ctx.fineTune.adopt?.(j.modelId)) ?? null;
      if (adopted) {
        this.unitOf.set(j.modelId, { clusterId: j.clusterId, unit: adopted.unit.index });
        this.follow(j.modelId, j.workRequestId, adopted.run);
        continue;
      }
      const msg = "the server stopped while the fine-tune was running";
      if (j.attempts < this.ctx.config.maxFineTuneAttempts) {
        await this.store.fineTunes.setState(j.modelId, "QUEUED");
        await this.store.fineTunes.addEvent(j.modelId, "WARN", `${msg}; will resume from the last checkpoint`);
        await this.wr.log(j.workRequestId, `${msg}; resuming`);
      } else await this.finish(j.modelId, j.workRequestId, { ok: false, code: "WorkerCrashed", message: msg, crashed: true });
    }
    await this.kick();
  }

  /** The lease lost (its connection failed): stop following runs; the node that takes the lease adopts them. */
  private stepDown(): void {
    this.term++;
    for (const r of this.running.values()) r.detach?.();
    this.running.clear();
    this.unitOf.clear();
  }

  /** Stop every worker without changing job states, so they resume on the next start. */
  async close(): Promise<void> {
    this.closed = true;
    const runs = [...this.running.entries()];
    // runs that outlive this process go on where they run; the next holder of the lease adopts them
    for (const [, r] of runs) r.detach?.();
    const local = runs.filter(([, r]) => !r.detach);
    // graceful: back to QUEUED, so the next start resumes them without counting a crash
    for (const [id] of local) await this.store.fineTunes.setState(id, "QUEUED");
    for (const [, r] of local) r.cancel();
    await Promise.allSettled(local.map(([, r]) => r.done));
    await this.lease.stop();
  }
}
