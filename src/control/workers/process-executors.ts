// The executors that run compute in worker processes (child_process.fork): one process per fine-tune
// job on the unit it holds, and one process per unit of a hosting cluster, each pinned to its unit's cores. A worker that dies is reported (fine-tune: as a
// crash, resumed from its checkpoint) or replaced (hosting: respawned with every active endpoint).

import { existsSync, rmSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { runDirFor } from "../../training/finetune.ts";
import type { FineTuneEvents, FineTuneExecutor, FineTuneOutcome, FineTuneRun, FineTuneSpec, HostingExecutor, PoolSpec } from "../executors.ts";
import { memoryBudget } from "../shapes.ts";
import { HostingPoolProcess } from "./hosting-pool.ts";
import { forkWorker } from "./fork.ts";
import { type FineTuneCommand, type FineTuneReport, type FineTuneResult, resultFileFor } from "./messages.ts";

const outcomeOf = (m: FineTuneResult): FineTuneOutcome =>
  m.type === "done"
    ? { ok: true, finalAccuracy: m.finalAccuracy, finalLoss: m.finalLoss, trainableParameters: m.trainableParameters, history: m.history }
    : { ok: false, code: m.error.name === "DataError" ? "InvalidTrainingData" : m.error.name, message: m.error.message, lines: m.error.lines, canceled: m.canceled };

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

export class ProcessFineTune implements FineTuneExecutor {
  /** pids of running jobs (tests kill them to check resume) */
  readonly pids = new Map<string, number>();

  start(spec: FineTuneSpec, ev: FineTuneEvents): FineTuneRun {
    const resultFile = resultFileFor(spec);
    // an earlier attempt's result (its server died before reading it) would describe another run
    rmSync(resultFile, { force: true });
    const child = forkWorker("./fine-tune-worker.ts", { cores: spec.unit.pin ? spec.unit.cores : null, heapMb: memoryBudget(spec.unit.memoryBytes).heapMb });
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
        const crashed: FineTuneOutcome = { ok: false, code: "WorkerCrashed", message: `the fine-tune worker exited (${signal ?? `code ${code}`})`, crashed: true };
        void takeResult(resultFile).then(
          (r) => resolve(r ?? outcome ?? crashed),
          (e: Error) => resolve({ ...crashed, message: `the fine-tune worker's result file is unreadable (${e.message})` }),
        );
      });
      child.on("error", (e) => resolve({ ok: false, code: "WorkerCrashed", message: `the fine-tune worker failed: ${e.message}`, crashed: true }));
    });
    child.send({ type: "start", spec, resume } satisfies FineTuneCommand);
    return { done, cancel: () => child.connected && child.send({ type: "cancel" } satisfies FineTuneCommand) };
  }
}

export class ProcessHosting implements HostingExecutor {
  async startPool(spec: PoolSpec) {
    return HostingPoolProcess.start(spec);
  }
}

export function processExecutors(): { fineTune: ProcessFineTune; hosting: ProcessHosting } {
  return { fineTune: new ProcessFineTune(), hosting: new ProcessHosting() };
}
