// `sprig demo` from start to end: the seed workflow of DESIGN.md against an embedded service — fine-tune
// one T-Few custom model per dataset, host them with the base model, send traffic, switch an endpoint
// off and on — then the report. Ctrl-C stops the service and removes the temporary data directory.

import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { CliError } from "../cli/index.ts";
import { loadTensors } from "../models/index.ts";
import { type DemoDataset, resolveDatasets } from "./datasets.ts";
import { type Embedded, startEmbedded } from "./embedded.ts";
import { createFineTuningCluster, deleteCluster, fineTuneAll, upload, type TrainingPlan } from "./fine-tune.ts";
import { createHosting, servingMemory, toggle } from "./hosting.ts";
import { type DemoReport, buildReport, printReport } from "./report.ts";
import { Say, count, pct } from "./say.ts";
import { burst } from "./traffic.ts";

export interface DemoOptions {
  modelDir: string;
  datasets: string[];
  dataDir?: string;
  keep: boolean;
  json: boolean;
  /** epochs for every dataset; default: DEMO_EPOCHS by kind */
  epochs?: number;
  learningRate: number;
  /** prompts per dataset sent to every endpoint */
  evalPerSet: number;
  /** of those, how many are shown side by side */
  show: number;
}

/**
 * Epochs per dataset kind, measured on the 2-core machine with the bundled base model and sets (128
 * examples): a choice task trains one row per answer choice (4× the work per step), so it gets fewer.
 */
export const DEMO_EPOCHS = { choices: 3, completion: 8 } as const;
/** T-Few's (IA)³ vectors on a 5 M-parameter model learn a new format in ~40 steps at this rate (Adafactor). */
export const DEMO_LEARNING_RATE = 0.3;
/** replicas of the demo's hosting cluster, one core each, as far as the machine has free cores */
const MAX_HOSTING_UNITS = 4;

async function parameterCount(dir: string): Promise<number> {
  let n = 0;
  for (const t of (await loadTensors(dir)).values()) n += t.shape.reduce((a, b) => a * b, 1);
  return n;
}

function checkModel(dir: string): void {
  if (!existsSync(join(dir, "config.json"))) throw new CliError(`--model: ${dir} is not a Hugging Face model directory (no config.json)`);
  if (!existsSync(join(dir, "tokenizer.json")))
    throw new CliError(`--model: ${dir} has no tokenizer.json; the demo sends text prompts, so it needs a model with a tokenizer`);
}

export async function runDemo(o: DemoOptions): Promise<DemoReport> {
  const t0 = performance.now();
  const modelDir = resolve(o.modelDir);
  checkModel(modelDir);
  const sets: DemoDataset[] = resolveDatasets(o.datasets);
  const say = new Say(o.json ? process.stderr : process.stdout);
  const plan: TrainingPlan = {
    learningRate: o.learningRate,
    batchSize: 8,
    epochs: (d) => o.epochs ?? (d.choices ? DEMO_EPOCHS.choices : DEMO_EPOCHS.completion),
  };
  const baseParameters = await parameterCount(modelDir);

  const emb: Embedded = await startEmbedded({ modelDir, dataDir: o.dataDir, keep: o.keep });
  const interrupt = () => {
    say.line("\ninterrupted: stopping the service");
    void emb.close().finally(() => process.exit(130));
  };
  process.once("SIGINT", interrupt);
  try {
    const c = emb.client;
    say.line(`Sprig demo: the seed workflow against an embedded service at ${emb.url}`);
    say.detail(`base model ${modelDir} (${count(baseParameters)} parameters), registered as BASE model ${emb.baseModelId}`);
    say.detail(`data directory ${emb.dataDir}${o.keep || o.dataDir ? " (kept)" : " (temporary)"}`);

    say.heading("Create a FINE_TUNING cluster");
    // one unit (one reserved core) per dataset, as far as the machine has room
    const ftCluster = await createFineTuningCluster(c, Math.max(1, Math.min(sets.length, await emb.freeUnits())), say);
    say.heading("Upload the training data (object storage)");
    await upload(c, sets, say);
    say.heading(`Fine-tune ${sets.length} custom model${sets.length > 1 ? "s" : ""} with T-Few, side by side`);
    const trained = await fineTuneAll(c, emb.baseModelId, ftCluster, sets, plan, say);
    for (const t of trained)
      say.detail(
        `${t.dataset.name}: ACTIVE after ${t.seconds.toFixed(0)} s · validation token accuracy ${pct(t.model.modelMetrics?.finalAccuracy)} · loss ${t.model.modelMetrics?.finalLoss?.toFixed(3) ?? "—"} · ${count(t.model.trainableParameters)} trainable parameters`,
      );

    // a cluster holds its cores until it is deleted: the fine-tuning cluster's go to hosting
    await deleteCluster(c, ftCluster, say);
    say.heading("Create a HOSTING cluster with endpoints for the base model and every custom model");
    const { clusterId, endpoints } = await createHosting(
      c,
      Math.max(1, Math.min(MAX_HOSTING_UNITS, await emb.freeUnits())),
      [{ name: "base", modelId: emb.baseModelId }, ...trained.map((t) => ({ name: t.dataset.name, modelId: t.model.id }))],
      say,
    );

    say.heading("Send concurrent requests to every endpoint (greedy; answers side by side)");
    const traffic = await burst(c, endpoints, sets, o.evalPerSet, o.show, say);
    const memory = await servingMemory(emb.metricsUrl, clusterId);

    say.heading("Deactivate and reactivate an endpoint");
    const target = endpoints[1]!;
    const probe = sets[0]!.evalSet[0]!.prompt;
    const switched = await toggle(
      c,
      target,
      endpoints.filter((e) => e !== target),
      probe,
      say,
    );

    const report = buildReport({
      modelDir,
      baseParameters,
      trained,
      endpoints,
      traffic,
      memory,
      toggle: switched,
      elapsedSeconds: (performance.now() - t0) / 1000,
    });
    printReport(report, say);
    if (o.keep || o.dataDir) {
      say.line();
      say.detail(`everything is kept in ${emb.dataDir}; serve it again with`);
      say.detail(`  npx sprig serve --data-dir ${emb.dataDir}`);
      say.detail(`and use it with  SPRIG_API_KEY=${emb.key} npx sprig endpoint list`);
    }
    return report;
  } finally {
    process.removeListener("SIGINT", interrupt);
    await emb.close();
  }
}
