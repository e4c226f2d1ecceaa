// One compiled inference session per base model: batched prefill and decode steps over a KV cache,
// returning last-position logits per row. Adapters plug in through model hooks and extra feeds.

import { Graph, type HostTensor, type Tensor } from "../engine/index.ts";
import { type Compiled, type FloatAlloc, compile, floatAlloc } from "../engine/index.ts";
import {
  type CacheLayout,
  type LinearQuantization,
  LinearQuantizer,
  type LoadedModel,
  type ModelHooks,
  type WeightFormat,
  buildCausalLM,
  quantizationOf,
  weightSource,
} from "../models/index.ts";
import { KvCache } from "./kv-cache.ts";

export interface RunnerOptions {
  /** intra-op threads (default: all cores) */
  threads?: number;
  /** let idle compute threads spin (default true); turn off when several sessions take turns on the cores */
  allowSpinning?: boolean;
  /** adapter hooks; they may declare extra graph inputs, fed through `step({extraFeeds})` */
  hooks?: (graph: Graph) => ModelHooks;
  /** write an ORT profile (chrome trace) with this file prefix; see `endProfiling` */
  profilePrefix?: string;
  /** how the base projections are stored (default f32); int8/int4 quantize them weight-only at graph build */
  weights?: WeightFormat;
  /** overrides of the format's quantization settings (benches and studies; the defaults are the measured choice) */
  quantization?: Partial<LinearQuantization>;
  /**
   * how the graph takes the past (default "time"): "head" feeds it head-first (B, KVH, P, D) and reads it in
   * place (no per-step concat of the past); `newCache` then makes head-first caches. PastKv sources of the
   * hosting lanes are time-major.
   */
  cacheLayout?: CacheLayout;
  /**
   * where steps run (compile's `thread`): "main" (default) blocks the event loop for each step; "worker"
   * does not — feed state then comes from `alloc` (shared memory the worker mirrors, see `mirrorCopies`)
   */
  thread?: "main" | "worker";
}

/** The runner's weight source: float32, or the projections quantized per `opts.weights`. */
function sourceOf(graph: Graph, model: LoadedModel, opts: RunnerOptions) {
  const q = quantizationOf(opts.weights ?? "f32", opts.quantization);
  return weightSource(graph, model.weights, undefined, q && new LinearQuantizer(model.weights, q));
}

/** Where the runner's steps spent their time so far, in JS and in ORT (see `ModelRunner.timing`). */
export interface StepTiming {
  steps: number;
  /** building feeds and picking output buffers */
  feedMs: number;
  /** in `run`: ORT, binding inputs and outputs included */
  runMs: number;
  /** writing the steps' new K/V into a KvCache (step, advance) */
  cacheWriteMs: number;
}

/**
 * Past keys/values a step attends to, in the runner's layout: time-major the first P positions of layer l
 * → (P, B, KVH, D); head-first (B, KVH, P′, D) with P′ ≥ P, positions past a row's length masked.
 */
export interface PastKv {
  view(kind: "key" | "value", l: number, P: number): HostTensor;
}

export interface StepOutput {
  B: number;
  /** new positions per row (the longest row's count) */
  T: number;
  /** logits at each row's last new token. (B, V) */
  logits: Float32Array;
  /** log Σ exp of each row of `logits`, for log-probabilities without a pass over V (Sampler.pick). (B) */
  logsumexp: Float32Array;
  /** this step's keys or values of layer l. → (T, B, KVH, D), head-first runners (B, KVH, T, D) */
  present(kind: "key" | "value", l: number): Float32Array;
}

export interface StepRow {
  /** new tokens of this row (≥ 1) */
  ids: readonly number[];
  /** positions already in the cache for this row */
  pastLen: number;
}

/** niceness of a worker-thread runner's compute threads (measured in bench/serve-step-thread.ts) */
const WORKER_NICE = 5;

export class ModelRunner {
  private outBuffers = new Map<string, Record<string, HostTensor>>();
  /** cumulative; reset by assigning zeros */
  readonly timing: StepTiming = { steps: 0, feedMs: 0, runMs: 0, cacheWriteMs: 0 };

  /** how to allocate long-lived feed state (caches, tables) for this runner's thread: shared on a worker */
  readonly alloc: FloatAlloc;

  private constructor(
    readonly model: LoadedModel,
    private readonly compiled: Compiled,
    readonly cacheLayout: CacheLayout,
    readonly thread: "main" | "worker",
  ) {
    this.alloc = floatAlloc(thread);
  }

  /** copies of tracked feed state in memory: 2 on a worker (its mirror, ORT refuses shared memory), else 1 */
  get mirrorCopies(): number {
    return this.thread === "worker" ? 2 : 1;
  }

  static async create(model: LoadedModel, opts: RunnerOptions = {}): Promise<ModelRunner> {
    const graph = new Graph();
    const hooks = opts.hooks?.(graph);
    buildCausalLM(graph, model.config, sourceOf(graph, model, opts), {
      cache: true,
      cacheLayout: opts.cacheLayout,
      logits: "last",
      hooks,
    });
    const compiled = await compile(graph, {
      intraOpThreads: opts.threads,
      allowSpinning: opts.allowSpinning,
      profilePrefix: opts.profilePrefix,
      thread: opts.thread ?? "main",
      // steps yield the cores to the event loop: admission, activation and streaming answer mid-step
      workerNice: WORKER_NICE,
    });
    return new ModelRunner(model, compiled, opts.cacheLayout ?? "time", opts.thread ?? "main");
  }

  /** Writes the ORT profile when created with `profilePrefix`. */
  endProfiling(): void {
    this.compiled.endProfiling();
  }

  newCache(slots: number, capacity: number): KvCache {
    const c = this.model.config;
    return new KvCache(c.numLayers, slots, c.numKvHeads, c.headDim, capacity, this.cacheLayout);
  }

  /**
   * One batched step: row b of the cache gets rows[b].ids appended; returns logits at each row's last
   * new token. rows.length must equal the cache's slot count.
   */
  async step(cache: KvCache, rows: readonly StepRow[], extraFeeds: Record<string, HostTensor> = {}): Promise<Float32Array[]> {
    const out = await this.advance(cache, rows, extraFeeds);
    const V = this.model.config.vocabSize;
    return rows.map((_, b) => out.logits.slice(b * V, (b + 1) * V));
  }

  /**
   * `step` without copying the logits out: the step's K/V go into the cache and the raw output comes back
   * (its arrays are reused by the next call of the same shape: read them first).
   */
  async advance(cache: KvCache, rows: readonly StepRow[], extraFeeds: Record<string, HostTensor> = {}): Promise<StepOutput> {
    if (rows.length !== cache.slots) throw new Error(`step: ${rows.length} rows for a cache of ${cache.slots} slots`);
    if (cache.layout !== this.cacheLayout) throw new Error(`step: a "${cache.layout}" cache for a "${this.cacheLayout}" runner`);
    const out = await this.forward(rows, cache, extraFeeds);
    const t0 = performance.now();
    const starts = rows.map((r) => r.pastLen);
    const counts = rows.map((r) => r.ids.length);
    for (let l = 0; l < cache.layers; l++) {
      cache.write("key", l, out.present("key", l), out.T, starts, counts);
      cache.write("value", l, out.present("value", l), out.T, starts, counts);
    }
    this.timing.cacheWriteMs += performance.now() - t0;
    return out;
  }

  /**
   * The raw batched step: rows padded to the longest (T), attending to `past` (its first P = max pastLen
   * positions; null = no past, e.g. a prefill). The returned arrays are reused by the next call of the
   * same (B, T): read or copy them first.
   */
  async forward(rows: readonly StepRow[], past: PastKv | null, extraFeeds: Record<string, HostTensor> = {}): Promise<StepOutput> {
    const t0 = performance.now();
    const B = rows.length;
    if (B === 0) throw new Error("step: no rows");
    const T = Math.max(...rows.map((r) => r.ids.length));
    const P = Math.max(...rows.map((r) => r.pastLen));
    if (P > 0 && !past) throw new Error("step: rows have a past but no cache was given");
    const ids = new BigInt64Array(B * T);
    const pos = new BigInt64Array(B * T);
    rows.forEach((r, b) => {
      if (r.ids.length === 0) throw new Error(`step: row ${b} has no new tokens`);
      for (let t = 0; t < T; t++) {
        ids[b * T + t] = BigInt(r.ids[t] ?? 0);
        pos[b * T + t] = BigInt(r.pastLen + Math.min(t, r.ids.length - 1));
      }
    });
    const feeds: Record<string, HostTensor> = {
      input_ids: { dtype: "int64", shape: [B, T], data: ids },
      position_ids: { dtype: "int64", shape: [B, T], data: pos },
      past_len: { dtype: "int64", shape: [B], data: BigInt64Array.from(rows, (r) => BigInt(r.pastLen)) },
      last_index: { dtype: "int64", shape: [B], data: BigInt64Array.from(rows, (r) => BigInt(r.ids.length - 1)) },
      ...extraFeeds,
    };
    const c = this.model.config;
    const noneShape = this.cacheLayout === "head" ? [B, c.numKvHeads, 0, c.headDim] : [0, B, c.numKvHeads, c.headDim];
    const none: HostTensor = { dtype: "float32", shape: noneShape, data: new Float32Array(0) };
    for (let l = 0; l < c.numLayers; l++) {
      feeds[`past_key.${l}`] = past ? past.view("key", l, P) : none;
      feeds[`past_value.${l}`] = past ? past.view("value", l, P) : none;
    }
    const into = this.buffers(feeds, B, T);
    const t1 = performance.now();
    const out = await this.compiled.run(feeds, { outputs: into });
    const t = this.timing;
    t.steps++;
    t.feedMs += t1 - t0;
    t.runMs += performance.now() - t1;
    return {
      B,
      T,
      logits: out.logits!.data as Float32Array,
      logsumexp: out.logsumexp!.data as Float32Array,
      present: (kind, l) => {
        const n = T * B * c.numKvHeads * c.headDim;
        return (out[`present_${kind}`]!.data as Float32Array).subarray(l * n, (l + 1) * n);
      },
    };
  }

  /**
   * Output destinations reused across steps of the same (B, T): decode steps allocate nothing. Least
   * recently used shapes are dropped, so varied prefill shapes do not evict the decode buffers.
   */
  private buffers(feeds: Record<string, HostTensor>, B: number, T: number): Record<string, HostTensor> {
    const key = `${B}x${T}`;
    let bufs = this.outBuffers.get(key);
    if (bufs) this.outBuffers.delete(key);
    else {
      if (this.outBuffers.size >= 16) this.outBuffers.delete(this.outBuffers.keys().next().value!);
      bufs = this.compiled.allocOutputs(feeds);
    }
    this.outBuffers.set(key, bufs);
    return bufs;
  }

  async dispose(): Promise<void> {
    await this.compiled.dispose();
  }
}

/** Logits at every position, without a cache (for `sprig forward` and checks). → (T, V) per call */
export async function forwardAll(model: LoadedModel, ids: readonly number[], opts: RunnerOptions = {}): Promise<Float32Array[]> {
  const graph = new Graph();
  const hooks = opts.hooks?.(graph);
  buildCausalLM(graph, model.config, sourceOf(graph, model, opts), { cache: false, logits: "all", hooks });
  const compiled = await compile(graph, { intraOpThreads: opts.threads });
  try {
    const T = ids.length;
    const out = await compiled.run({
      input_ids: { dtype: "int64", shape: [1, T], data: BigInt64Array.from(ids, BigInt) },
      position_ids: { dtype: "int64", shape: [1, T], data: BigInt64Array.from(ids, (_, i) => BigInt(i)) },
    });
    const V = model.config.vocabSize;
    const all = out.logits!.data as Float32Array;
    return Array.from({ length: T }, (_, t) => all.slice(t * V, (t + 1) * V));
  } finally {
    await compiled.dispose();
  }
}

export type { Tensor };
