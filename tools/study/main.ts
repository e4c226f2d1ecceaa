// `npm run study-tfew`: fine-tunes the base model on each bundled task with T-Few, LoRA and vanilla, measures
// test accuracy, trainable parameters, wall time, training-state bytes and serving memory, and writes the
// Markdown report, its JSON data and a PNG of the validation-loss curves.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Adapter } from "../../src/adapters/adapter.ts";
import { loadAdapter } from "../../src/adapters/peft-io.ts";
import { type LoadedModel, loadModel, weightBytes } from "../../src/models/index.ts";
import { HostingEngine } from "../../src/serving/hosting/hosting-engine.ts";
import { resolveTrainingConfig } from "../../src/training/config.ts";
import { fineTune } from "../../src/training/finetune.ts";
import { isChoiceTask, readTask, taskAccuracy, withShots } from "./evaluate.ts";
import { studyMethods, trainingStateBytes, vanillaShapes } from "./methods.ts";
import { type StudyResult, type TaskResult, writeReport } from "./report.ts";

const { values: args } = parseArgs({
  options: {
    model: { type: "string", default: "models/sprig-base" },
    tasks: { type: "string", default: "story-mood,story-qa,char-record" },
    epochs: { type: "string", default: "auto" },
    "max-test": { type: "string", default: "200" },
    shots: { type: "string", default: "3" },
    out: { type: "string", default: "docs/study-tfew" },
    /** comma-separated study JSONs (e.g. one per task, run as separate processes): write their tasks as one report */
    merge: { type: "string" },
  },
});

const epochsArg = (): number | "auto" => (args.epochs === "auto" ? "auto" : Number(args.epochs));
const log = (m: string) => process.stderr.write(`[study ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const GEN_TOKENS = 48;

async function servingBytes(model: LoadedModel, adapter: Adapter | undefined, full: LoadedModel | undefined): Promise<number> {
  if (full) return weightBytes(full);
  const engine = await HostingEngine.create({ model, maxBatchSize: 1 });
  try {
    return (await engine.activate("probe", adapter!)).bytes;
  } finally {
    await engine.close();
  }
}

async function runTask(base: LoadedModel, task: string, work: string): Promise<TaskResult> {
  const train = await readTask(`data/tasks/${task}/train.jsonl`);
  const test = (await readTask(`data/tasks/${task}/test.jsonl`)).slice(0, Number(args["max-test"]));
  const kind = isChoiceTask(test) ? "choice" : "generation";
  log(`${task}: ${train.length} train / ${test.length} test examples (${kind})`);
  const zero = await taskAccuracy(base, undefined, test, GEN_TOKENS);
  const few = await taskAccuracy(
    base,
    undefined,
    await withShots(base, test, train, Number(args.shots), base.config.maxPositions - 8),
    GEN_TOKENS,
  );
  log(`${task}: base zero-shot ${zero.accuracy.toFixed(3)}, few-shot ${few.accuracy.toFixed(3)}`);
  const result: TaskResult = {
    task,
    kind,
    trainExamples: train.length,
    testExamples: test.length,
    zeroShot: zero.accuracy,
    fewShot: few.accuracy,
    zeroShotExact: zero.exactMatch,
    fewShotExact: few.exactMatch,
    methods: [],
  };
  const baseParameters = [...base.weights.values()].reduce((a, w) => a + w.data.length, 0);
  for (const m of studyMethods(base.config, epochsArg())) {
    const out = join(work, `${task}-${m.method}-${result.methods.length}`);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const load0 = loadavg()[0]!;
    const { metrics } = await fineTune({ model: base, data: `data/tasks/${task}/train.jsonl`, method: m.method, out, config: m.config });
    const wallSeconds = (performance.now() - t0) / 1000;
    const used = process.cpuUsage(cpu0);
    const cpuSeconds = (used.user + used.system) / 1e6;
    const load = Math.max(load0, loadavg()[0]!);
    // what the run's "auto" settings resolved to (the same rule, on the run's own training split)
    const cfg = resolveTrainingConfig(m.method, m.config, { trainExamples: metrics.trainExamples, baseParameters });
    const adapter = m.method === "vanilla" ? undefined : await loadAdapter(out, base.config);
    const full = m.method === "vanilla" ? await loadModel(out) : undefined;
    const shapes = adapter
      ? [...adapter.tensors.values()].map((t) => t.shape)
      : vanillaShapes(base.config, base.weights, m.config.numOfLastLayers);
    const acc = await taskAccuracy(full ?? base, adapter, test, GEN_TOKENS);
    const perModel = await servingBytes(base, adapter, full);
    result.methods.push({
      label: m.label,
      method: m.method,
      testAccuracy: acc.accuracy,
      exactMatch: acc.exactMatch,
      trainableParameters: metrics.trainableParameters,
      wallSeconds,
      cpuSeconds,
      loadAverage: load,
      stateBytes: trainingStateBytes(shapes, cfg.optimizer),
      servingBytesPerModel: perModel,
      steps: metrics.steps,
      learningRate: cfg.learningRate,
      optimizer: cfg.optimizer,
      batchSize: cfg.trainingBatchSize,
      epochs: cfg.totalTrainingEpochs,
      ...(metrics.keptStep !== undefined ? { keptStep: metrics.keptStep } : {}),
      validationCurve: metrics.history
        .filter((h) => h.validationLoss !== undefined)
        .map((h) => [h.step, h.validationLoss!] as [number, number]),
    });
    log(
      `${task}: ${m.label}: test ${acc.accuracy.toFixed(3)} (exact ${acc.exactMatch?.toFixed(3) ?? "-"}), ${wallSeconds.toFixed(0)} s (cpu ${cpuSeconds.toFixed(0)} s, load ${load.toFixed(1)}), ${metrics.trainableParameters} params`,
    );
    await rm(out, { recursive: true, force: true });
  }
  return result;
}

/** One report from several runs' JSON: each task's figures stay those of the one process that measured them. */
async function merge(files: string[]): Promise<void> {
  const parts = await Promise.all(files.map(async (f) => JSON.parse(await readFile(f, "utf8")) as StudyResult));
  const first = parts[0]!;
  if (parts.some((p) => p.model !== first.model || p.epochs !== first.epochs))
    throw new Error("--merge: the runs used other models or epochs");
  const study: StudyResult = {
    ...first,
    started: parts.map((p) => p.started).sort()[0]!,
    minutes: Math.max(...parts.map((p) => p.minutes)),
    processes: parts.length,
    tasks: parts.flatMap((p) => p.tasks),
  };
  await writeFile(`${args.out}.json`, `${JSON.stringify(study, null, 1)}\n`);
  await writeReport(study, args.out!);
  log(`merged ${files.length} runs into ${args.out}.md and ${args.out}.json`);
}

async function main(): Promise<void> {
  if (args.merge) return merge(args.merge.split(","));
  const base = await loadModel(args.model!);
  if (!base.tokenizer) throw new Error(`${args.model} has no tokenizer: the study's tasks are text`);
  const work = await mkdtemp(join(tmpdir(), "sprig-study-"));
  const started = new Date();
  const tasks: TaskResult[] = [];
  try {
    for (const t of args.tasks!.split(",")) tasks.push(await runTask(base, t.trim(), work));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const study: StudyResult = {
    model: args.model!,
    baseParameters: [...base.weights.values()].reduce((a, w) => a + w.data.length, 0),
    baseBytes: weightBytes(base),
    epochs: epochsArg(),
    started: started.toISOString(),
    minutes: (Date.now() - started.getTime()) / 60000,
    tasks,
  };
  await writeFile(`${args.out}.json`, `${JSON.stringify(study, null, 1)}\n`);
  await writeReport(study, args.out!);
  log(`wrote ${args.out}.md, ${args.out}.json and ${args.out}-val-loss-<task>.png`);
}

await main();
