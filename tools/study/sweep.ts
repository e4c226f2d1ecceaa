// `npm run study-hyperparameters`: the seeded sweep the "auto" defaults were chosen from. Trains T-Few,
// LoRA and vanilla on small datasets (sweep-data.ts) over a small grid — learning rates first, then twice
// the epochs, another batch size and 250- and 1000-example sets at each method's best rate — and measures token accuracy on
// each dataset's held-out file after the last step (no early stopping, so no selection on that file).
// Writes docs/hyperparameters-sweep.json and the table in docs/hyperparameters.md. Finished runs are
// cached (--cache), so an interrupted sweep continues where it stopped.

import { existsSync, readFileSync } from "node:fs";
import { appendFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { autoBatchSize, autoEpochs } from "../../src/training/auto-hyperparameters.ts";
import { type LoadedModel, loadModel } from "../../src/models/index.ts";
import { fineTune } from "../../src/training/finetune.ts";
import type { Method } from "../../src/training/methods.ts";
import { type SweepDataset, writeSweepDataset } from "./sweep-data.ts";
import { type SweepRun, bestRate, writeSweepReport } from "./sweep-report.ts";

const { values: args } = parseArgs({
  options: {
    model: { type: "string", default: "models/sprig-base" },
    cache: { type: "string", default: join(tmpdir(), "sprig-sweep-cache.jsonl") },
    json: { type: "string", default: "docs/hyperparameters-sweep.json" },
    doc: { type: "string", default: "docs/hyperparameters.md" },
    seed: { type: "string", default: "0" },
    /** write the report from the cached runs only (what is not cached is left out) */
    "report-only": { type: "boolean", default: false },
  },
});

const METHODS: Method[] = ["tfew", "lora", "vanilla"];
/** The rates tried per method: around each method's usual range, upwards for a small model and a short run. */
const RATES: Record<Method, number[]> = { tfew: [0.03, 0.1, 0.3, 1], lora: [1e-3, 3e-3, 1e-2, 3e-2], vanilla: [1e-4, 3e-4, 1e-3, 3e-3] };
/** The previous fixed defaults, run once on the 96-example facts task at its 8 epochs, as the reference. */
const OLD_DEFAULTS: Record<Method, number> = { tfew: 3e-3, lora: 2e-4, vanilla: 2e-5 };
const RATE_SETS = ["facts-96", "past-tense-32"];

const log = (m: string) => process.stderr.write(`[sweep ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

const cached = new Map<string, SweepRun>();
if (existsSync(args.cache!))
  for (const l of readFileSync(args.cache!, "utf8").split("\n"))
    if (l.trim()) {
      const r = JSON.parse(l) as SweepRun;
      cached.set(r.id, r);
    }

async function run(
  base: LoadedModel,
  d: SweepDataset,
  stage: SweepRun["stage"],
  method: Method,
  learningRate: number,
  batch: number,
  epochs: number,
  work: string,
): Promise<SweepRun[]> {
  const id = `${d.name}/${method}/lr${learningRate}/b${batch}/e${epochs}/s${args.seed}`;
  const hit = cached.get(id);
  if (hit) return [{ ...hit, stage }];
  if (args["report-only"]) return [];
  const t0 = performance.now();
  const { metrics } = await fineTune({
    model: base,
    data: d.trainPath,
    validationData: d.heldOutPath,
    method,
    out: join(work, id.replaceAll("/", "_")),
    config: {
      learningRate,
      trainingBatchSize: batch,
      totalTrainingEpochs: epochs,
      earlyStoppingPatience: 0,
      logModelMetricsIntervalInSteps: 100000,
      checkpointEveryNSteps: 0,
      seed: Number(args.seed),
    },
  });
  const r: SweepRun = {
    id,
    stage,
    dataset: d.name,
    kind: d.kind,
    trainExamples: d.trainExamples,
    method,
    learningRate,
    batchSize: batch,
    epochs,
    steps: metrics.steps,
    heldOutAccuracy: metrics.finalAccuracy,
    heldOutLoss: metrics.finalLoss,
    ...(metrics.choiceAccuracy !== undefined ? { choiceAccuracy: metrics.choiceAccuracy } : {}),
    seconds: (performance.now() - t0) / 1000,
  };
  await appendFile(args.cache!, `${JSON.stringify(r)}\n`);
  log(`${id}: ${r.steps} steps, held-out accuracy ${(100 * r.heldOutAccuracy).toFixed(1)}% (${r.seconds.toFixed(0)} s)`);
  return [r];
}

async function main(): Promise<void> {
  const base = await loadModel(args.model!);
  const work = await mkdtemp(join(tmpdir(), "sprig-sweep-"));
  const started = Date.now();
  const runs: SweepRun[] = [];
  try {
    const sets = new Map<string, SweepDataset>();
    for (const name of [...RATE_SETS, "story-mood-96", "past-tense-250", "past-tense-1000"])
      sets.set(name, await writeSweepDataset(name, work));
    const rule = (d: SweepDataset) => ({
      batch: autoBatchSize(d.trainExamples),
      epochs: autoEpochs(d.trainExamples, autoBatchSize(d.trainExamples)),
    });
    const facts = sets.get("facts-96")!;
    for (const m of METHODS) runs.push(...(await run(base, facts, "reference", m, OLD_DEFAULTS[m], 8, 8, work)));
    // 1. learning rates, at the rule's batch size and epochs
    for (const name of RATE_SETS)
      for (const m of METHODS)
        for (const lr of RATES[m])
          runs.push(...(await run(base, sets.get(name)!, "rate", m, lr, rule(sets.get(name)!).batch, rule(sets.get(name)!).epochs, work)));
    // 2. at each method's best rate: the choice task, twice the epochs, another batch size, then 250 and 1000 examples
    const best = Object.fromEntries(METHODS.map((m) => [m, bestRate(runs, m)])) as Record<Method, number>;
    const small = sets.get("past-tense-32")!;
    const mood = sets.get("story-mood-96")!;
    for (const m of METHODS) {
      runs.push(...(await run(base, mood, "choice", m, best[m], rule(mood).batch, rule(mood).epochs, work)));
      runs.push(...(await run(base, facts, "epochs", m, best[m], rule(facts).batch, rule(facts).epochs * 2, work)));
      runs.push(...(await run(base, small, "batch", m, best[m], 8, rule(small).epochs, work)));
    }
    for (const name of ["past-tense-250", "past-tense-1000"])
      for (const m of METHODS) {
        const d = sets.get(name)!;
        runs.push(...(await run(base, d, "size", m, best[m], rule(d).batch, rule(d).epochs, work)));
      }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const result = {
    model: args.model!,
    seed: Number(args.seed),
    started: new Date(started).toISOString(),
    minutes: runs.reduce((a, r) => a + r.seconds, 0) / 60, // the runs' own time (cached runs keep theirs)
    runs,
  };
  await writeFile(args.json!, `${JSON.stringify(result, null, 1)}\n`);
  await writeSweepReport(result, args.doc!);
  log(`wrote ${args.json} and the sweep table of ${args.doc} (${result.minutes.toFixed(1)} min)`);
}

await main();
