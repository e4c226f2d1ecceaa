// The training loop proper: micro-batches → gradients (accumulated as a weighted running mean) → clipping
// → scheduled optimizer step; history and validation at the logging interval, early stopping, periodic
// checkpoints, and a checkpoint on abort. Everything random is a function of (seed, position), so a
// resumed run takes exactly the steps the uninterrupted one would have.

import type { HostTensor } from "../engine/index.ts";
import type { Compiled } from "../engine/index.ts";
import { type Split, epochOrder, makeBatch, perExampleLoss } from "./batches.ts";
import { type LoopState, saveCheckpoint } from "./checkpoint.ts";
import type { TrainingConfig } from "./config.ts";
import { FineTuneAbortedError } from "./errors.ts";
import type { FineTuneEvents } from "./finetune.ts";
import { evaluate } from "./metrics.ts";
import { type MethodSetup, dropoutFeeds, paramFeeds } from "./method-setup.ts";
import { type StepOptimizer, learningRateAt } from "./optim.ts";

export interface LoopInput {
  cfg: TrainingConfig;
  setup: MethodSetup;
  split: Split;
  trainGraph: Compiled;
  evalGraph: Compiled;
  opt: StepOptimizer;
  /** trained in place */
  params: Map<string, Float32Array>;
  /** advanced in place */
  state: LoopState;
  /** the trainable tensors at the best evaluation so far (from the checkpoint on resume); kept in place */
  best?: Map<string, Float32Array>;
  runDir: string;
  events: FineTuneEvents;
}

export interface LoopResult {
  totalSteps: number;
  stoppedEarly: boolean;
  lastChoiceAccuracy?: number;
  /** stopped early: `params` were reset to those of this step's (the best) evaluation */
  restoredStep?: number;
}

/** Optimizer steps of a run: every epoch ends with a (possibly shorter) step. */
export function plannedSteps(
  nTrain: number,
  cfg: Pick<TrainingConfig, "trainingBatchSize" | "gradientAccumulationSteps" | "totalTrainingEpochs">,
): number {
  const batches = Math.ceil(nTrain / cfg.trainingBatchSize);
  return cfg.totalTrainingEpochs * Math.ceil(batches / cfg.gradientAccumulationSteps);
}

export async function trainLoop(x: LoopInput): Promise<LoopResult> {
  const { cfg, setup, split, state, params, opt, events } = x;
  const tg = setup.train;
  const bs = cfg.trainingBatchSize;
  const nBatches = Math.ceil(split.train.length / bs);
  const totalSteps = plannedSteps(split.train.length, cfg);
  const warmup = Math.ceil(cfg.warmupRatio * totalSteps);
  // gradient destinations: ORT writes the first micro-batch's gradients straight into the accumulators
  const acc = new Map(tg.trainable.map((k) => [k, new Float32Array(params.get(k)!.length)]));
  const accOut: Record<string, HostTensor> = Object.fromEntries(
    tg.trainable.map((k) => [`grad.${k}`, { dtype: "float32", shape: tg.shapes.get(k)!, data: acc.get(k)! }]),
  );
  const tmp = new Map<string, Float32Array>();
  const tmpOut = (k: string): HostTensor => {
    if (!tmp.has(k)) tmp.set(k, new Float32Array(acc.get(k)!.length));
    return { dtype: "float32", shape: tg.shapes.get(k)!, data: tmp.get(k)! };
  };
  let stoppedEarly = false;
  let lastChoiceAccuracy: number | undefined;
  // early stopping keeps the best evaluation's parameters: a copy taken at every improvement
  const best = x.best ?? new Map<string, Float32Array>();
  const keepBest = split.validation.length > 0 && cfg.earlyStoppingPatience > 0;
  const checkpoint = () => saveCheckpoint(x.runDir, { state, params, slots: opt.slots, optimizerStep: opt.t, best });

  while (state.epoch < cfg.totalTrainingEpochs && !stoppedEarly) {
    const order = epochOrder(split.train.length, cfg.seed, state.epoch, cfg.shuffle);
    while (state.batchInEpoch < nBatches && !stoppedEarly) {
      if (events.signal?.aborted) {
        // between steps: the checkpoint holds everything the next step needs
        await checkpoint();
        throw new FineTuneAbortedError(state.step, x.runDir);
      }
      const t0 = performance.now();
      let weight = 0;
      let loss = 0;
      let tokens = 0;
      for (let k = 0; k < cfg.gradientAccumulationSteps && state.batchInEpoch < nBatches; k++) {
        const b = state.batchInEpoch;
        const batch = makeBatch(
          order.slice(b * bs, (b + 1) * bs).map((i) => split.train[i]!),
          setup.layout,
        );
        const feeds = {
          ...batch.feeds,
          ...paramFeeds(tg, params),
          ...dropoutFeeds(tg, setup.dropout, batch.rows, batch.length, cfg.seed, state.microStep),
        };
        const first = k === 0;
        const out = await x.trainGraph.run(feeds, {
          outputs: first ? accOut : Object.fromEntries(tg.trainable.map((n) => [`grad.${n}`, tmpOut(n)])),
        });
        // micro-batches weigh by what their loss averages over, so accumulation equals one big batch
        const w = perExampleLoss(setup.layout) ? batch.examples : batch.tokens;
        const l = (out.loss!.data as Float32Array)[0]!;
        if (!first && w > 0) {
          const f = w / (weight + w);
          for (const [n, a] of acc) {
            const g = tmp.get(n)!;
            for (let i = 0; i < a.length; i++) a[i] = a[i]! + f * (g[i]! - a[i]!);
          }
        }
        weight += w;
        loss += l * w;
        tokens += batch.realTokens;
        state.batchInEpoch++;
        state.microStep++;
      }
      const lr = learningRateAt(state.step, totalSteps, warmup, cfg.learningRate);
      await opt.update(params, acc, lr, cfg.maxGradNorm);
      state.step++;
      const trainLoss = loss / Math.max(weight, 1e-30);
      const tokensPerSecond = tokens / ((performance.now() - t0) / 1000);
      events.onProgress?.({ step: state.step, totalSteps, epoch: state.epoch + 1, trainLoss, lr, tokensPerSecond });
      const entry: LoopState["history"][number] = {
        step: state.step,
        epoch: state.epoch + 1,
        trainLoss,
        learningRate: lr,
        tokensPerSecond,
      };
      state.history.push(entry);

      const lastStep = state.step === totalSteps;
      if (split.validation.length && (state.step % cfg.logModelMetricsIntervalInSteps === 0 || lastStep)) {
        const ev = await evaluate(x.evalGraph, split.validation, bs, setup.layout, paramFeeds(setup.evaluation, params));
        entry.validationLoss = ev.loss;
        entry.validationAccuracy = ev.accuracy;
        lastChoiceAccuracy = ev.choiceAccuracy;
        stoppedEarly = earlyStop(state, ev.loss, cfg);
        events.onEvaluation?.({
          step: state.step,
          totalSteps,
          epoch: state.epoch + 1,
          validationLoss: ev.loss,
          validationAccuracy: ev.accuracy,
        });
        if (keepBest && (state.bestStepLoss == null || ev.loss < state.bestStepLoss)) {
          state.bestStep = state.step;
          state.bestStepLoss = ev.loss;
          for (const [k, v] of params) {
            if (!best.has(k)) best.set(k, new Float32Array(v.length));
            best.get(k)!.set(v);
          }
        }
        events.onLog?.(
          `step ${state.step}/${totalSteps}: train loss ${trainLoss.toFixed(4)}, validation loss ${ev.loss.toFixed(4)}, accuracy ${(100 * ev.accuracy).toFixed(1)}%`,
        );
        if (stoppedEarly)
          events.onLog?.(
            `early stopping: no improvement over ${cfg.earlyStoppingThreshold} in ${state.evalsWithoutImprovement} evaluations`,
          );
      }
      if (!stoppedEarly && !lastStep && cfg.checkpointEveryNSteps > 0 && state.step % cfg.checkpointEveryNSteps === 0) {
        await checkpoint();
      }
    }
    if (state.batchInEpoch >= nBatches) {
      state.epoch++;
      state.batchInEpoch = 0;
    }
  }
  if (stoppedEarly && state.bestStep != null && best.size === params.size && state.bestStep !== state.step) {
    for (const [k, v] of params) v.set(best.get(k)!);
    events.onLog?.(
      `kept the parameters of step ${state.bestStep}, the best evaluation (validation loss ${state.bestStepLoss!.toFixed(4)})`,
    );
    return { totalSteps, stoppedEarly, restoredStep: state.bestStep };
  }
  return { totalSteps, stoppedEarly, lastChoiceAccuracy };
}

/** Track the best validation loss; true when patience has run out (patience 0: never). */
function earlyStop(state: LoopState, loss: number, cfg: TrainingConfig): boolean {
  if (state.bestValLoss === null || loss < state.bestValLoss - cfg.earlyStoppingThreshold) {
    state.bestValLoss = loss;
    state.evalsWithoutImprovement = 0;
    return false;
  }
  state.evalsWithoutImprovement++;
  return cfg.earlyStoppingPatience > 0 && state.evalsWithoutImprovement >= cfg.earlyStoppingPatience;
}
