// Per-method setup of a run: which tensors train and their starting values (a fresh (IA)³ or LoRA
// adapter, or copies of base weights), the training and evaluation graphs, and LoRA's dropout masks.

import { type Adapter } from "../adapters/index.ts";
import { createIa3, defaultIa3Config } from "../adapters/index.ts";
import { createLora, loraConfig } from "../adapters/index.ts";
import { type HostTensor, Rng } from "../engine/index.ts";
import type { CompileOptions } from "../engine/index.ts";
import type { LoadedModel, ModelConfig } from "../models/index.ts";
import { type BatchLayout, mixSeed } from "./batches.ts";
import type { TrainingConfig } from "./config.ts";
import type { Method } from "./methods.ts";
import { type TrainGraph, buildTrainGraph } from "./train-graph.ts";

export interface MethodSetup {
  method: Method;
  train: TrainGraph;
  evaluation: TrainGraph;
  /** trainable tensors by graph input name, flat, starting values (never the model's own arrays) */
  initial: Map<string, Float32Array>;
  /** T-Few / LoRA: the adapter layout the trained tensors are saved in */
  adapter?: Adapter;
  /** LoRA dropout probability (0: no masks) */
  dropout: number;
  /** the batches both graphs take: "packed" for T-Few with answer choices (one row per example), else "scored" */
  layout: BatchLayout;
}

/**
 * Session options for training graphs: ORT's memory arena on, so a step reuses the buffers of the last one
 * (off, every intermediate is a fresh mmap and page faults each step), but no memory patterns: from the
 * second run, a pattern asks the arena for one block of the planned peak on top of what the first run
 * left in it (SmolLM2-135M T-Few: 3.6 → 7.2 GB). Weights above 64 MiB go to ORT as an external-data file
 * rather than one serialized buffer; no spinning idle threads: steps are seconds long, and a worker beside
 * a server must not burn the cores it waits for. What each choice bought: src/training/README.md.
 */
export function trainingSessionOptions(threads?: number): CompileOptions {
  return { intraOpThreads: threads, memArena: true, memPattern: false, externalDataThreshold: 64 * 2 ** 20, allowSpinning: false };
}

/** What a training step needs from the training graph: the loss and the gradients (no accuracy counts). */
export function trainOutputs(tg: TrainGraph): string[] {
  return ["loss", ...tg.trainable.map((k) => `grad.${k}`)];
}

/** Base weights of the last `n` transformer layers (HF names). */
export function lastLayersFilter(config: ModelConfig, n: number): (name: string) => boolean {
  if (n > config.numLayers) throw new RangeError(`numOfLastLayers is ${n} but the model has ${config.numLayers} layers`);
  const prefix = config.family === "gpt2" ? "transformer.h." : "model.layers.";
  const first = config.numLayers - n;
  return (name) => {
    if (!name.startsWith(prefix)) return false;
    return Number(name.slice(prefix.length).split(".")[0]) >= first;
  };
}

/** What a method trains, freshly made: an adapter's tensors, or which base weights (default all). */
interface Trainables {
  adapter?: Adapter;
  trainableWeight?: (name: string) => boolean;
  /** LoRA dropout probability (0: no masks) */
  dropout: number;
}

/** Each method's fresh start, keyed as METHODS (methods.ts): a missing method fails to compile. */
const FRESH: { readonly [M in Method]: (model: LoadedModel, cfg: TrainingConfig, baseName: string | null) => Trainables } = {
  tfew: (model, _cfg, baseName) => ({ adapter: createIa3(model.config, defaultIa3Config(model.config, baseName)), dropout: 0 }),
  lora: (model, cfg, baseName) => {
    const lc = loraConfig(
      model.config,
      { r: cfg.loraR, alpha: cfg.loraAlpha, dropout: cfg.loraDropout, targetModules: cfg.loraTargetModules },
      baseName,
    );
    const adapter = createLora(model.config, lc, cfg.seed);
    if (adapter.tensors.size === 0)
      throw new RangeError(`loraTargetModules ${JSON.stringify(lc.target_modules)} match no module of this ${model.config.family} model`);
    return { adapter, dropout: cfg.loraDropout };
  },
  vanilla: (model, cfg) => ({
    trainableWeight: cfg.numOfLastLayers === undefined ? undefined : lastLayersFilter(model.config, cfg.numOfLastLayers),
    dropout: 0,
  }),
};

export function setupMethod(
  model: LoadedModel,
  method: Method,
  cfg: TrainingConfig,
  choices: boolean,
  baseName: string | null,
): MethodSetup {
  const { adapter, trainableWeight, dropout } = FRESH[method](model, cfg, baseName);
  // a sliding window measures distances within one sequence, which a packed row does not keep: one row per choice then
  const packed = choices && model.config.slidingWindow === null;
  const common = { method, adapter, trainableWeight, choices, scoredOnly: !choices, packedChoices: packed, frozenInputs: true };
  const train = buildTrainGraph(model, { ...common, loraDropout: dropout > 0, withGrads: true });
  const evaluation = buildTrainGraph(model, { ...common, loraDropout: false, withGrads: false });
  const initial = new Map<string, Float32Array>();
  for (const k of train.trainable) {
    const src = adapter ? adapter.tensors.get(k)! : model.weights.get(k)!;
    initial.set(k, Float32Array.from(src.data));
  }
  return { method, train, evaluation, initial, adapter, dropout, layout: packed ? "packed" : choices ? "choices" : "scored" };
}

/** Feeds of the trainable tensors (zero-copy views of `params`) and of the frozen weights the graph takes as inputs. */
export function paramFeeds(tg: TrainGraph, params: ReadonlyMap<string, Float32Array>): Record<string, HostTensor> {
  const feeds: Record<string, HostTensor> = Object.fromEntries(tg.frozen);
  for (const k of tg.trainable) feeds[k] = { dtype: "float32", shape: tg.shapes.get(k)!, data: params.get(k)! };
  return feeds;
}

/**
 * Inverted-dropout masks for one micro-batch of (B, T): each element is 0 with probability p, else
 * 1/(1-p), as torch.nn.Dropout. Seeded by (seed, micro-batch index), so a resumed run draws the same ones.
 */
export function dropoutFeeds(tg: TrainGraph, p: number, B: number, T: number, seed: number, microStep: number): Record<string, HostTensor> {
  const feeds: Record<string, HostTensor> = {};
  if (p <= 0) return feeds;
  const rng = new Rng(mixSeed(seed, 3, microStep));
  const keep = 1 / (1 - p);
  for (const [name, n] of [...tg.dropoutMasks].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const data = new Float32Array(B * T * n);
    for (let i = 0; i < data.length; i++) data[i] = rng.next() < p ? 0 : keep;
    feeds[name] = { dtype: "float32", shape: [B, T, n], data };
  }
  return feeds;
}
