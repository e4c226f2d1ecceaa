// One compiled inference session per base model: batched prefill and decode steps over a KV cache,
// returning last-position logits per row. Adapters plug in through model hooks and extra feeds.

import { Graph, type HostTensor, type Tensor } from "../engine/index.ts";
import { type Compiled, compile } from "../engine/runtime/compile.ts";
import { type LoadedModel, type ModelHooks, buildCausalLM, weightSource } from "../models/index.ts";
import { KvCache } from "./kv-cache.ts";

export interface RunnerOptions {
  /** intra-op threads (default: all cores) */
  threads?: number;
  /** adapter hooks; they may declare extra graph inputs, fed through `step({extraFeeds})` */
  hooks?: (graph: Graph) => ModelHooks;
}

export interface StepRow {
  /** new tokens of this row (≥ 1) */
  ids: readonly number[];
  /** positions already in the cache for this row */
  pastLen: number;
}

export class ModelRunner {
  private outBuffers = new Map<string, Record<string, HostTensor>>();

  private constructor(
    readonly model: LoadedModel,
    private readonly compiled: Compiled,
  ) {}

  static async create(model: LoadedModel, opts: RunnerOptions = {}): Promise<ModelRunner> {
    const graph = new Graph();
    const hooks = opts.hooks?.(graph);
    buildCausalLM(graph, model.config, weightSource(graph, model.weights), { cache: true, logits: "last", hooks });
    const compiled = await compile(graph, { intraOpThreads: opts.threads });
    return new ModelRunner(model, compiled);
  }

  newCache(slots: number, capacity: number): KvCache {
    const c = this.model.config;
    return new KvCache(c.numLayers, slots, c.numKvHeads, c.headDim, capacity);
  }

  /**
   * One batched step: row b of the cache gets rows[b].ids appended; returns logits at each row's last
   * new token. rows.length must equal the cache's slot count.
   */
  async step(cache: KvCache, rows: readonly StepRow[], extraFeeds: Record<string, HostTensor> = {}): Promise<Float32Array[]> {
    const B = cache.slots;
    if (rows.length !== B) throw new Error(`step: ${rows.length} rows for a cache of ${B} slots`);
    const T = Math.max(...rows.map((r) => r.ids.length));
    const P = Math.max(...rows.map((r) => r.pastLen));
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
    for (let l = 0; l < cache.layers; l++) {
      feeds[`past_key.${l}`] = cache.view("key", l, P);
      feeds[`past_value.${l}`] = cache.view("value", l, P);
    }
    const out = await this.compiled.run(feeds, { outputs: this.buffers(feeds, B, T) });
    const starts = rows.map((r) => r.pastLen);
    const counts = rows.map((r) => r.ids.length);
    for (let l = 0; l < cache.layers; l++) {
      cache.write("key", l, out[`present_key.${l}`]!.data as Float32Array, T, starts, counts);
      cache.write("value", l, out[`present_value.${l}`]!.data as Float32Array, T, starts, counts);
    }
    const logits = out.logits!.data as Float32Array;
    const V = this.model.config.vocabSize;
    return rows.map((_, b) => logits.slice(b * V, (b + 1) * V));
  }

  /** Output destinations reused across steps of the same (B, T): decode steps allocate nothing. */
  private buffers(feeds: Record<string, HostTensor>, B: number, T: number): Record<string, HostTensor> {
    const key = `${B}x${T}`;
    let bufs = this.outBuffers.get(key);
    if (!bufs) {
      if (this.outBuffers.size > 8) this.outBuffers.clear();
      bufs = this.compiled.allocOutputs(feeds);
      this.outBuffers.set(key, bufs);
    }
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
  buildCausalLM(graph, model.config, weightSource(graph, model.weights), { cache: false, logits: "all", hooks });
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
