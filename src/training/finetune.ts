// fineTune(): a whole fine-tuning job — validate the data, train with T-Few, LoRA or vanilla, evaluate,
// checkpoint, stop early, and write the adapter or model directory with metrics.json. The service runs it
// in a worker process; `sprig finetune` runs it from the command line.

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { resolve } from "node:path";
import { baseFingerprint } from "../adapters/index.ts";
import { loadAdapter, otherBase, readAdapterMeta } from "../adapters/index.ts";
import { compile } from "../engine/index.ts";
import { type LoadedModel, loadModel } from "../models/index.ts";
import { splitExamples } from "./batches.ts";
import { CHECKPOINT_VERSION, type LoopState, loadCheckpoint } from "./checkpoint.ts";
import { resolveAuto } from "./auto-hyperparameters.ts";
import { TrainingConfigError, type TrainingConfigInput, trainingConfigSpec } from "./config.ts";
import { DataError, parseDataset } from "./data.ts";
import { FineTuneError } from "./errors.ts";
import { type FineTuneMetrics, evaluate } from "./metrics.ts";
import { paramFeeds, setupMethod, trainOutputs, trainingSessionOptions } from "./method-setup.ts";
import { createStepOptimizer } from "./graph-optimizer.ts";
import { writeOutput } from "./outputs.ts";
import { trainLoop } from "./loop.ts";
import { type Method, METHODS } from "./methods.ts";

export { FineTuneAbortedError, FineTuneError } from "./errors.ts";

export interface FineTuneOptions {
  /** base model directory, or a model already loaded */
  model: string | LoadedModel;
  /** JSONL training data */
  data: string;
  /** JSONL validation data (at least one example); without it, `validationSplit` of `data` is held out */
  validationData?: string;
  method: Method;
  /** result directory; must not exist — it appears, complete, when the run finishes */
  out: string;
  /** hyperparameters under OCI's names; unset ones take the method's defaults */
  config?: TrainingConfigInput;
  /** continue the interrupted run for `out` from its latest checkpoint */
  resume?: boolean;
  /** compute threads (default: all cores) */
  threads?: number;
  /**
   * T-Few / LoRA: start from this adapter directory (a custom model being fine-tuned further) instead of
   * a fresh adapter; it must be of the same kind and layout and made for this base model
   */
  initAdapter?: string;
}

export interface FineTuneProgress {
  step: number;
  totalSteps: number;
  /** 1-based */
  epoch: number;
  trainLoss: number;
  lr: number;
  tokensPerSecond: number;
}

export interface FineTuneEvents {
  onProgress?(p: FineTuneProgress): void;
  /** after each validation pass (every logModelMetricsIntervalInSteps steps and the last), so curves can be drawn live */
  onEvaluation?(e: { step: number; totalSteps: number; epoch: number; validationLoss: number; validationAccuracy: number }): void;
  onLog?(msg: string): void;
  /** abort between optimizer steps: a checkpoint is written first, so `resume` continues from there */
  signal?: AbortSignal;
}

export interface FineTuneResult {
  outDir: string;
  metrics: FineTuneMetrics;
}

/** Where a run keeps its checkpoints and stages its output, next to `out`. */
export const runDirFor = (out: string): string => `${resolve(out)}.partial`;

export async function fineTune(o: FineTuneOptions, events: FineTuneEvents = {}): Promise<FineTuneResult> {
  const log = events.onLog ?? (() => undefined);
  const out = resolve(o.out);
  const runDir = runDirFor(out);
  if (existsSync(out)) throw new FineTuneError(`${o.out} already exists: choose a new output directory (results are never overwritten)`);
  if (o.resume && !existsSync(runDir)) throw new FineTuneError(`nothing to resume: no interrupted run for ${o.out} (expected ${runDir})`);
  if (!o.resume && existsSync(runDir))
    throw new FineTuneError(`an interrupted run for ${o.out} exists in ${runDir}: resume it, or delete that directory to start over`);

  const spec = trainingConfigSpec(o.method, o.config ?? {});
  if (o.validationData !== undefined && o.config?.validationSplit !== undefined)
    throw new TrainingConfigError("validationSplit applies only without a validation file (the validation file is the held-out set)");
  const model = typeof o.model === "string" ? await loadModel(o.model) : o.model;
  const bytes = await readData(o.data, "training data");
  const examples = await parseDataset(bytes, model);
  const valBytes = o.validationData === undefined ? null : await readData(o.validationData, "validation data");
  const valExamples = valBytes && (await parseDataset(valBytes, model, { minExamples: 1, what: "validation data" }));
  const choices = METHODS[o.method].choiceLosses && [...examples, ...(valExamples ?? [])].some((e) => e.choices);
  const split = valExamples ? { train: examples, validation: valExamples } : splitExamples(examples, spec.validationSplit, spec.seed);
  // "auto" epochs, learning rate and batch size follow from the training split and the base model's size
  const baseParameters = [...model.weights.values()].reduce((a, w) => a + w.data.length, 0);
  const { config: cfg, auto } = resolveAuto(spec, { method: o.method, trainExamples: split.train.length, baseParameters });
  const from = valExamples
    ? ` + ${valExamples.length} validation from ${o.validationData}`
    : ` (${split.train.length} train, ${split.validation.length} validation)`;
  log(`data: ${examples.length} examples${from}${choices ? ", with answer choices: T-Few losses on" : ""}`);
  for (const r of auto.rules) log(`auto ${r}`);

  const fingerprint = baseFingerprint(model.config, model.weights);
  // what fixes the result: the checkpoint interval does not, so a resume may change it
  const { checkpointEveryNSteps: _every, ...fixing } = cfg;
  const identity = sha256(
    JSON.stringify({
      method: o.method,
      cfg: fixing,
      data: sha256(bytes),
      ...(valBytes ? { validation: sha256(valBytes) } : {}),
      base: fingerprint,
      init: o.initAdapter ?? null,
    }),
  );
  const setup = setupMethod(model, o.method, cfg, choices, model.dir);
  if (o.initAdapter) await startFromAdapter(setup.initial, o.initAdapter, o.method, model, fingerprint);
  const trainable = [...setup.initial.values()].reduce((a, v) => a + v.length, 0);
  log(`method: ${o.method}, ${trainable} trainable values, optimizer ${cfg.optimizer}, learning rate ${cfg.learningRate}`);

  const session = trainingSessionOptions(o.threads);
  const trainGraph = await compile(setup.train.graph, { ...session, outputs: trainOutputs(setup.train) });
  const evalGraph = await compile(setup.evaluation.graph, session);
  // clipping + update: every rule as one ORT run per step over all trainable tensors (graph-optimizer.ts)
  const opt = await createStepOptimizer(
    { name: cfg.optimizer, weightDecay: cfg.weightDecay, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    setup.train,
    session,
  );
  try {
    let params = setup.initial;
    let best: Map<string, Float32Array> | undefined;
    let state: LoopState = {
      version: CHECKPOINT_VERSION,
      identity,
      step: 0,
      epoch: 0,
      batchInEpoch: 0,
      microStep: 0,
      history: [],
      bestValLoss: null,
      evalsWithoutImprovement: 0,
    };
    if (o.resume) {
      const ck = await loadCheckpoint(runDir);
      if (!ck) throw new FineTuneError(`nothing to resume: ${runDir} holds no complete checkpoint (delete it to start over)`);
      if (ck.state.identity !== identity)
        throw new FineTuneError(
          `cannot resume: the base model, data, method or hyperparameters differ from the interrupted run's (delete ${runDir} to start over)`,
        );
      params = ck.params;
      best = ck.best;
      for (const [k, v] of ck.slots) {
        // checkpoints of earlier versions also held (unused) state for LoRA's dropout-mask inputs
        if (!opt.slots.has(k) && k.includes(".dropout_mask.")) continue;
        opt.slots.get(k)!.set(v);
      }
      opt.t = ck.optimizerStep;
      state = ck.state;
      log(`resumed from step ${state.step}`);
    }

    const result = await trainLoop({ cfg, setup, split, trainGraph, evalGraph, opt, params, state, best, runDir, events });
    const evalSet = split.validation.length ? split.validation : split.train;
    const last = state.history.at(-1);
    const final =
      split.validation.length && result.restoredStep === undefined && last?.step === state.step && last.validationLoss !== undefined
        ? { loss: last.validationLoss, accuracy: last.validationAccuracy!, choiceAccuracy: result.lastChoiceAccuracy }
        : await evaluate(evalGraph, evalSet, cfg.trainingBatchSize, setup.layout, paramFeeds(setup.evaluation, params));
    const metrics: FineTuneMetrics = {
      finalAccuracy: final.accuracy,
      finalLoss: final.loss,
      evaluatedOn: split.validation.length ? "validation" : "training",
      ...(final.choiceAccuracy !== undefined ? { choiceAccuracy: final.choiceAccuracy } : {}),
      history: state.history,
      steps: state.step,
      totalSteps: result.totalSteps,
      stoppedEarly: result.stoppedEarly,
      ...(result.restoredStep !== undefined ? { keptStep: result.restoredStep } : {}),
      trainExamples: split.train.length,
      validationExamples: split.validation.length,
      trainableParameters: trainable,
      ...(auto.rules.length ? { auto } : {}),
    };
    const info = { method: o.method, config: cfg, baseFingerprint: fingerprint, baseModel: model.dir, metrics };
    await writeOutput(`${runDir}/output`, out, model, setup.adapter, params, info);
    await rm(runDir, { recursive: true, force: true });
    log(
      `wrote ${o.out}: final loss ${metrics.finalLoss.toFixed(4)}, accuracy ${(100 * metrics.finalAccuracy).toFixed(1)}% (${metrics.evaluatedOn})`,
    );
    return { outDir: out, metrics };
  } finally {
    await Promise.all([trainGraph.dispose(), evalGraph.dispose(), opt.dispose()]);
  }
}

async function readData(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new DataError(`cannot read ${what} ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

const sha256 = (data: string | Uint8Array): string => createHash("sha256").update(data).digest("hex");

/** Replace a fresh adapter's starting values by those of an existing adapter of the same layout. */
async function startFromAdapter(
  initial: Map<string, Float32Array>,
  dir: string,
  method: Method,
  model: LoadedModel,
  fingerprint: string,
): Promise<void> {
  const want = METHODS[method].adapter;
  if (want === null)
    throw new FineTuneError(
      `a ${METHODS[method].label} fine-tune cannot start from an adapter (${dir}): fine-tune the full model directory instead`,
    );
  const why = otherBase(dir, await readAdapterMeta(dir), fingerprint);
  if (why !== null) throw new FineTuneError(`cannot start from the adapter: ${why}`);
  const parent = await loadAdapter(dir, model.config);
  if (parent.config.peft_type !== want) {
    throw new FineTuneError(
      `the adapter in ${dir} is ${parent.config.peft_type}; a ${method} fine-tune continues only a ${want} adapter (adapters do not stack)`,
    );
  }
  const keys = [...initial.keys()];
  const mismatch = keys.filter((k) => parent.tensors.get(k)?.data.length !== initial.get(k)!.length);
  if (mismatch.length || parent.tensors.size !== keys.length) {
    throw new FineTuneError(
      `the adapter in ${dir} has another layout (rank or target modules) than this run's: ${mismatch.slice(0, 3).join(", ") || "different tensors"}`,
    );
  }
  for (const k of keys) initial.get(k)!.set(parent.tensors.get(k)!.data);
}
