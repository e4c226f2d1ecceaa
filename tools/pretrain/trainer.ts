// The pre-training loop: the project's vanilla training graph (every weight trainable) compiled once,
// AdamW from src/training/optim.ts (decay on matrices only), warmup + linear decay, gradient clipping,
// held-out evaluation, checkpoints every N steps and exact resume. Logs one JSON line per step/eval.

import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Compiled, type HostTensor, compile } from "../../src/engine/index.ts";
import type { LoadedModel } from "../../src/models/index.ts";
import { Optimizer, clipGradNorm, learningRateAt } from "../../src/training/optim.ts";
import { buildTrainGraph } from "../../src/training/train-graph.ts";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { type HostWeight, initWeights } from "./init.ts";
import { BatchOrder, type Chunks, batchFeeds } from "./packing.ts";
import { type ModelShape, type RunSettings, modelConfig } from "./plan.ts";

export interface PretrainJob {
  shape: ModelShape;
  run: RunSettings;
  vocabSize: number;
  train: Chunks;
  valid: Chunks;
  /** checkpoint/ and log.jsonl live here */
  workdir: string;
  resume: boolean;
  /** end this invocation (with a checkpoint) after this many steps; a later `resume` continues */
  stopAfter?: number;
  /** progress lines (default: none) */
  print?: (line: string) => void;
}

export type LogEntry =
  | { type: "step"; step: number; lr: number; loss: number; gradNorm: number; ms: number; tokens: number }
  | { type: "eval"; step: number; loss: number; tokens: number; batches: number };

export interface PretrainResult {
  /** false when `stopAfter` ended the invocation early (no final evaluation then) */
  done: boolean;
  weights: Map<string, HostWeight>;
  log: LogEntry[];
  /** held-out loss over every validation chunk after the last step */
  finalValidLoss: number;
  validTokens: number;
}

/** Mean loss over batches of chunks [0, batches·B) of `data` (all when batches is Infinity). */
async function evaluate(
  c: Compiled,
  params: Record<string, HostTensor>,
  data: Chunks,
  B: number,
  batches: number,
): Promise<{ loss: number; tokens: number; batches: number }> {
  let sum = 0;
  let tokens = 0;
  let n = 0;
  for (let start = 0; start + B <= data.count && n < batches; start += B, n++) {
    const out = await c.run({
      ...batchFeeds(
        data,
        Array.from({ length: B }, (_, i) => start + i),
      ),
      ...params,
    });
    sum += (out.loss_sum!.data as Float32Array)[0]!;
    tokens += (out.tokens!.data as Float32Array | BigInt64Array)[0] as number;
  }
  return { loss: sum / tokens, tokens, batches: n };
}

export async function pretrain(job: PretrainJob): Promise<PretrainResult> {
  const { run, shape } = job;
  const print = job.print ?? (() => {});
  const config = modelConfig(shape, job.vocabSize);
  const fingerprint = JSON.stringify({
    shape,
    run: { ...run, threads: undefined, evalEvery: undefined, checkpointEvery: undefined },
    vocab: job.vocabSize,
    chunks: job.train.count,
  });
  const ckptDir = join(job.workdir, "checkpoint");
  const logFile = join(job.workdir, "log.jsonl");
  const ckpt = await loadCheckpoint(ckptDir);
  if (ckpt && !job.resume) throw new Error(`a checkpoint exists in ${ckptDir}: pass --resume to continue it, or delete ${job.workdir}`);
  if (ckpt && ckpt.fingerprint !== fingerprint)
    throw new Error(`the checkpoint in ${ckptDir} belongs to another run (settings differ); delete ${job.workdir} to start over`);

  const weights = initWeights(config, run.seed);
  let log: LogEntry[] = [];
  const start = ckpt?.step ?? 0;
  if (ckpt) {
    for (const [k, w] of weights) w.data.set(ckpt.params.get(k)!);
    // steps logged after the checkpoint are redone
    log = readFileSync(logFile, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as LogEntry)
      .filter((e) => e.step <= start);
    print(`resuming at step ${start}`);
  }
  mkdirSync(job.workdir, { recursive: true });
  writeFileSync(logFile, log.map((e) => JSON.stringify(e) + "\n").join(""));

  const model: LoadedModel = { dir: job.workdir, config, weights, tokenizer: null };
  const tg = buildTrainGraph(model, { method: "vanilla", withGrads: true });
  const eg = buildTrainGraph(model, { method: "vanilla", withGrads: false });
  const train = await compile(tg.graph, { intraOpThreads: run.threads });
  const evalc = await compile(eg.graph, { intraOpThreads: run.threads, outputs: ["loss_sum", "tokens"] });
  try {
    const matrices = new Map(tg.trainable.filter((k) => weights.get(k)!.shape.length > 1).map((k) => [k, weights.get(k)!.shape]));
    const vectors = new Map(tg.trainable.filter((k) => weights.get(k)!.shape.length === 1).map((k) => [k, weights.get(k)!.shape]));
    const adam = { beta1: run.beta1, beta2: run.beta2, eps: 1e-8 };
    const optimizers = [
      new Optimizer({ name: "adamw", weightDecay: run.weightDecay, ...adam }, matrices),
      new Optimizer({ name: "adamw", weightDecay: 0, ...adam }, vectors),
    ];
    if (ckpt) {
      for (const o of optimizers) {
        o.t = start;
        for (const [k, s] of o.slots) s.set(ckpt.slots.get(k)!);
      }
    }
    const params: Record<string, HostTensor> = Object.fromEntries(
      tg.trainable.map((k) => [k, { dtype: "float32", shape: weights.get(k)!.shape, data: weights.get(k)!.data }]),
    );
    const groups = optimizers.map((o) => new Map([...o.shapes.keys()].map((k) => [k, weights.get(k)!.data])));
    const order = new BatchOrder(job.train.count, run.batchSize, run.seed);
    let outputs: Record<string, HostTensor> | undefined;
    const record = (e: LogEntry) => {
      log.push(e);
      appendFileSync(logFile, JSON.stringify(e) + "\n");
    };

    const end = Math.min(run.steps, start + (job.stopAfter ?? Infinity));
    for (let step = start; step < end; step++) {
      const t0 = performance.now();
      const feeds = { ...batchFeeds(job.train, order.batch(step)), ...params };
      outputs ??= train.allocOutputs(feeds);
      await train.run(feeds, { outputs });
      const loss = (outputs.loss!.data as Float32Array)[0]!;
      if (!Number.isFinite(loss)) throw new Error(`loss is ${loss} at step ${step}; the last checkpoint is intact`);
      const grads = new Map(tg.trainable.map((k) => [k, outputs![`grad.${k}`]!.data as Float32Array]));
      const gradNorm = clipGradNorm(grads.values(), run.gradClip);
      const lr = learningRateAt(step, run.steps, run.warmupSteps, run.peakLr);
      optimizers.forEach((o, i) => o.step(groups[i]!, grads, lr));
      const ms = performance.now() - t0;
      const tokens = (outputs.tokens!.data as Float32Array)[0]!;
      record({ type: "step", step: step + 1, lr, loss, gradNorm, ms: Math.round(ms), tokens });
      if ((step + 1) % 10 === 0 || step === start)
        print(
          `step ${step + 1}/${run.steps}  loss ${loss.toFixed(4)}  lr ${lr.toExponential(2)}  |g| ${gradNorm.toFixed(3)}  ${ms.toFixed(0)} ms  epoch ${order.epochOf(step + 1).toFixed(2)}`,
        );
      const last = step + 1 === run.steps;
      if ((step + 1) % run.evalEvery === 0 && !last) {
        const ev = await evaluate(evalc, params, job.valid, run.batchSize, run.evalBatches);
        record({ type: "eval", step: step + 1, ...ev });
        print(`eval @${step + 1}: held-out loss ${ev.loss.toFixed(4)} (ppl ${Math.exp(ev.loss).toFixed(2)}, ${ev.tokens} tokens)`);
      }
      if ((step + 1) % run.checkpointEvery === 0 || step + 1 === end) {
        const slots = new Map(optimizers.flatMap((o) => [...o.slots]));
        await saveCheckpoint(ckptDir, { step: step + 1, fingerprint, params: new Map([...weights].map(([k, w]) => [k, w.data])), slots });
      }
    }
    if (end < run.steps) return { done: false, weights, log, finalValidLoss: NaN, validTokens: 0 };
    const final = await evaluate(evalc, params, job.valid, run.batchSize, Infinity);
    if (!log.some((e) => e.type === "eval" && e.step === run.steps && e.batches === final.batches))
      record({ type: "eval", step: run.steps, ...final });
    print(`final held-out loss ${final.loss.toFixed(4)} (ppl ${Math.exp(final.loss).toFixed(2)}) over ${final.tokens} tokens`);
    return { done: true, weights, log, finalValidLoss: final.loss, validTokens: final.tokens };
  } finally {
    await train.dispose();
    await evalc.dispose();
  }
}

export const hasCheckpoint = (workdir: string): boolean => existsSync(join(workdir, "checkpoint", "state.json"));
