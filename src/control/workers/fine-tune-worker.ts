// Worker process of a FINE_TUNING cluster unit: runs one fine-tune job (src/training's fineTune) and
// reports progress over IPC. Cancel aborts between steps (a checkpoint is written first).

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fineTune } from "../../training/finetune.ts";
import type { FineTuneMetrics } from "../../training/metrics.ts";
import { METRICS_FILE } from "../../training/outputs.ts";
import type { FineTuneCommand, FineTuneReport } from "./messages.ts";
import { toWire } from "./messages.ts";

const send = (m: FineTuneReport): void => void process.send?.(m);
const ac = new AbortController();

process.on("message", (m: FineTuneCommand) => {
  if (m.type === "cancel") ac.abort();
  else void run(m);
});
// the parent went away: stop (the job resumes from its checkpoint at the next start)
process.on("disconnect", () => process.exit(0));

async function run(m: Extract<FineTuneCommand, { type: "start" }>): Promise<void> {
  const { spec } = m;
  try {
    // the run finished but the server died before recording it: the output is complete (it appears by rename)
    const metricsFile = join(spec.outputDir, METRICS_FILE);
    if (existsSync(metricsFile)) {
      const mt = JSON.parse(readFileSync(metricsFile, "utf8")) as FineTuneMetrics;
      send({ type: "log", message: "the fine-tune had already finished; recording its result" });
      send({ type: "done", finalAccuracy: mt.finalAccuracy, finalLoss: mt.finalLoss, trainableParameters: mt.trainableParameters, history: mt.history as unknown as Record<string, unknown>[] });
      return void process.disconnect?.();
    }
    if (spec.initAdapterDir) send({ type: "log", message: `continuing the parent custom model's adapter ${spec.initAdapterDir}` });
    const r = await fineTune(
      {
        model: spec.baseModelDir,
        data: spec.dataFile,
        method: spec.method,
        out: spec.outputDir,
        config: spec.trainingConfig,
        resume: m.resume,
        threads: spec.threads || undefined,
        initAdapter: spec.initAdapterDir ?? undefined,
      },
      {
        signal: ac.signal,
        onLog: (message) => send({ type: "log", message }),
        onProgress: (p) => send({ type: "progress", progress: { step: p.step, totalSteps: p.totalSteps, epoch: p.epoch, trainLoss: p.trainLoss } }),
      },
    );
    const mt = r.metrics;
    send({ type: "done", finalAccuracy: mt.finalAccuracy, finalLoss: mt.finalLoss, trainableParameters: mt.trainableParameters, history: mt.history as unknown as Record<string, unknown>[] });
  } catch (e) {
    send({ type: "failed", error: toWire(e), canceled: ac.signal.aborted });
  }
  process.disconnect?.();
}
