// Worker process of a FINE_TUNING cluster unit: runs one fine-tune job (src/training's fineTune) and
// reports progress over IPC. Cancel aborts between steps (a checkpoint is written first). The outcome,
// whatever its size (a long metrics history, thousands of bad data lines), is written to the job's result
// file; the small `finished` message says so, and the worker disconnects only once that message is sent.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../store/index.ts";
import { fineTune } from "../../training/index.ts";
import type { FineTuneMetrics } from "../../training/index.ts";
import { METRICS_FILE } from "../../training/index.ts";
import type { FineTuneCommand, FineTuneReport, FineTuneResult } from "./messages.ts";
import { boundedResult, resultFileFor, toWire } from "./messages.ts";
import { pathRedactor, redactWire } from "./redact-paths.ts";
import { sendHeartbeats } from "./watchdog.ts";

const send = (m: FineTuneReport): void => void process.send?.(m);
/** Resolves once the message is handed to the channel (so a disconnect cannot drop it). */
const deliver = (m: FineTuneReport): Promise<void> =>
  new Promise((res) => (process.send ? process.send(m, undefined, {}, () => res()) : res()));
const ac = new AbortController();

process.on("message", (m: FineTuneCommand) => {
  if (m.type === "cancel") ac.abort();
  else void run(m);
});
// the parent went away: stop (the job resumes from its checkpoint at the next start)
process.on("disconnect", () => process.exit(0));
sendHeartbeats();

const doneOf = (mt: FineTuneMetrics): FineTuneResult => ({
  type: "done",
  finalAccuracy: mt.finalAccuracy,
  finalLoss: mt.finalLoss,
  trainableParameters: mt.trainableParameters,
  history: mt.history as unknown as Record<string, unknown>[],
  ...(mt.auto ? { resolvedHyperparameters: mt.auto.resolved } : {}),
});

async function run(m: Extract<FineTuneCommand, { type: "start" }>): Promise<void> {
  const { spec } = m;
  const redact = pathRedactor(spec);
  const log = (message: string): void => send({ type: "log", message: redact(message) });
  let result: FineTuneResult;
  try {
    // the run finished but the server died before recording it: the output is complete (it appears by rename)
    const metricsFile = join(spec.outputDir, METRICS_FILE);
    if (existsSync(metricsFile)) {
      log("the fine-tune had already finished; recording its result");
      result = doneOf(JSON.parse(readFileSync(metricsFile, "utf8")) as FineTuneMetrics);
    } else {
      if (spec.initAdapterDir) log("continuing the parent custom model's adapter");
      const r = await fineTune(
        {
          model: spec.baseModelDir,
          data: spec.dataFile,
          validationData: spec.validationDataFile,
          method: spec.method,
          out: spec.outputDir,
          config: spec.trainingConfig,
          resume: m.resume,
          threads: spec.threads || undefined,
          initAdapter: spec.initAdapterDir ?? undefined,
        },
        {
          signal: ac.signal,
          onLog: log,
          onProgress: (p) =>
            send({
              type: "progress",
              progress: {
                step: p.step,
                totalSteps: p.totalSteps,
                epoch: p.epoch,
                trainLoss: p.trainLoss,
                tokensPerSecond: p.tokensPerSecond,
              },
            }),
          onEvaluation: (e) => send({ type: "progress", progress: e }),
        },
      );
      result = doneOf(r.metrics);
    }
  } catch (e) {
    result = { type: "failed", error: redactWire(toWire(e), redact), canceled: ac.signal.aborted };
  }
  try {
    await writeFileAtomic(resultFileFor(spec), JSON.stringify(result));
    await deliver({ type: "finished" });
  } catch (e) {
    // the result file cannot be written (e.g. the disk is full): report a bounded summary by message
    log(`could not write the result file: ${(e as Error).message}`);
    await deliver(boundedResult(result));
  }
  process.disconnect?.();
}
