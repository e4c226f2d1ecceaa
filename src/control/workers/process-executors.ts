// The executors that run compute in worker processes (child_process.fork): one process per fine-tune
// job on the unit it holds, and one process per unit of a hosting cluster, each pinned to its unit's cores. A worker that dies is reported (fine-tune: as a
// crash, resumed from its checkpoint) or replaced (hosting: respawned with every active endpoint).

import { existsSync, rmSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import type { WeightFormat } from "../../models/index.ts";
import { runDirFor } from "../../training/index.ts";
import type {
  FineTuneEvents,
  FineTuneExecutor,
  FineTuneOutcome,
  FineTuneRun,
  FineTuneSpec,
  HostingExecutor,
  PoolSpec,
} from "../executors.ts";
import { memoryBudget } from "../shapes.ts";
import { HostingPoolProcess } from "./hosting-pool.ts";
import { watch } from "./watchdog.ts";
import { forkWorker } from "./fork.ts";
import { type FineTuneCommand, type FineTuneReport, type FineTuneResult, resultFileFor } from "./messages.ts";

const outcomeOf = (m: FineTuneResult): FineTuneOutcome =>
  m.type === "done"
    ? {
        ok: true,
        finalAccuracy: m.finalAccuracy,
        finalLoss: m.finalLoss,
        trainableParameters: m.trainableParameters,
        history: m.history,
        ...(m.resolvedHyperparameters ? { resolvedHyperparameters: m.resolvedHyperparameters } : {}),
      }
    : {
        ok: false,
        code: m.error.name === "DataError" ? "InvalidTrainingData" : m.error.name,
        message: m.error.message,
        lines: m.error.lines,
        canceled: m.canceled,
      };

/** The outcome the worker wrote to its result file (removed once read), or null when there is none. */
async function takeResult(file: string): Promise<FineTuneOutcome | null> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return null;
  }
  await rm(file, { force: true });
  return outcomeOf(JSON.parse(text) as FineTuneResult);
}

/** How the worker processes run. */
export interface WorkerOptions {
  /** a worker silent this long (no heartbeat) is killed and treated as crashed */
  heartbeatTimeoutMs?: number;
  /** more Node flags for every worker (tests preload fault injection with `--import`) */
  execArgv?: string[];
  /** how hosting workers store the base projections (`sprig serve --hosting-weights`; default f32) */
  hostingWeights?: WeightFormat;
}

export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 60_000;

export class ProcessFineTune implements FineTuneExecutor {
  /** pids of running jobs (tests kill them to check resume) */
  readonly pids = new Map<string, number>();

  constructor(private readonly o: WorkerOptions = {}) {}

  start(spec: FineTuneSpec, ev: FineTuneEvents): FineTuneRun {
    const resultFile = resultFileFor(spec);
    // an earlier attempt's result (its server died before reading it) would describe another run
    rmSync(resultFile, { force: true });
    const child = forkWorker(
      "./fine-tune-worker.ts",
      { cores: spec.unit.pin ? spec.unit.cores : null, heapMb: memoryBudget(spec.unit.memoryBytes).heapMb },
      this.o.execArgv,
    );
    const dog = watch(child, this.o.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS, (ms) =>
      ev.onLog(`the fine-tune worker sent no heartbeat for ${Math.round(ms / 1000)} s: killing it`),
    );
    if (child.pid) this.pids.set(spec.jobId, child.pid);
    // an interrupted run leaves its staging directory beside the output: continue from its checkpoint
    const resume = existsSync(runDirFor(spec.outputDir));
    let outcome: FineTuneOutcome | null = null;
    const done = new Promise<FineTuneOutcome>((resolve) => {
      child.on("message", (m: FineTuneReport) => {
        if (m.type === "progress") ev.onProgress(m.progress);
        else if (m.type === "log") ev.onLog(m.message);
        else if (m.type === "done" || m.type === "failed") outcome = outcomeOf(m);
        // "finished": the result file is complete; it is read once the worker has exited
      });
      child.on("exit", (code, signal) => {
        this.pids.delete(spec.jobId);
        const why = dog.hung ? "stopped responding (no heartbeat) and was killed" : `exited (${signal ?? `code ${code}`})`;
        const crashed: FineTuneOutcome = { ok: false, code: "WorkerCrashed", message: `the fine-tune worker ${why}`, crashed: true };
        void takeResult(resultFile).then(
          (r) => resolve(r ?? outcome ?? crashed),
          (e: Error) => resolve({ ...crashed, message: `the fine-tune worker's result file is unreadable (${e.message})` }),
        );
      });
      child.on("error", (e) =>
        resolve({ ok: false, code: "WorkerCrashed", message: `the fine-tune worker failed: ${e.message}`, crashed: true }),
      );
    });
    child.send({ type: "start", spec, resume } satisfies FineTuneCommand);
    return { done, cancel: () => child.connected && child.send({ type: "cancel" } satisfies FineTuneCommand) };
  }
}

export class ProcessHosting implements HostingExecutor {
  /** the running pools by cluster id (tests and benches find worker pids here); a closed pool leaves */
  readonly pools = new Map<string, HostingPoolProcess>();

  constructor(private readonly o: WorkerOptions = {}) {}

  async startPool(spec: PoolSpec) {
    let p: HostingPoolProcess | null = null;
    p = await HostingPoolProcess.start({
      ...spec,
      heartbeatTimeoutMs: this.o.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS,
      execArgv: this.o.execArgv ?? [],
      weights: this.o.hostingWeights ?? "f32",
      // without this, every cluster that ever hosted anything would keep its closed pool here
      onClosed: () => {
        if (p && this.pools.get(spec.clusterId) === p) this.pools.delete(spec.clusterId);
      },
    });
    this.pools.set(spec.clusterId, p);
    return p;
  }
}

export function processExecutors(o: WorkerOptions = {}): { fineTune: ProcessFineTune; hosting: ProcessHosting } {
  return { fineTune: new ProcessFineTune(o), hosting: new ProcessHosting(o) };
}
