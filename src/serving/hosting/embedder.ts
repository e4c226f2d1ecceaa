// Embeddings from a causal LM: the final-norm hidden states of every position, mean-pooled over the
// input's tokens in the graph, L2-normalised in JS. One session per model (the base's carries the same
// adapter tables as the generation session, so a T-Few or LoRA custom model embeds through its table
// row); a batch of inputs is one run, right-padded (causal attention: padding never reaches real tokens).

import { Graph, op } from "../../engine/index.ts";
import type { HostTensor } from "../../engine/index.ts";
import { type Compiled, compile } from "../../engine/index.ts";
import { type LoadedModel, buildCausalLM, loadModel, weightSource } from "../../models/index.ts";
import type { AdapterTables, RowAdapter } from "./adapter-tables.ts";

export class Embedder {
  private constructor(
    private readonly model: LoadedModel,
    private readonly compiled: Compiled,
    private readonly tables: AdapterTables | null,
  ) {}

  static async create(model: LoadedModel, tables: AdapterTables | null, threads?: number): Promise<Embedder> {
    const graph = new Graph();
    const hooks = tables?.hooks(graph);
    // the engine frees its copy of weights it loaded itself once the generation session holds them: read
    // them again for this session (only when embeddings are first asked for), then let them go
    const weights = model.weights.size ? model.weights : (await loadModel(model.dir)).weights;
    const lm = buildCausalLM(graph, model.config, weightSource(graph, weights), { cache: false, logits: "none", hooks });
    // pool: (B, T) weights, 1/len on a row's tokens and 0 on its padding → mean over its tokens (B, C)
    const pool = graph.input("pool", "float32", ["B", "T"]);
    graph.output("pooled", op.sum(op.mul(lm.hidden, op.unsqueeze(pool, [2])), 1, false));
    return new Embedder(model, await compile(graph, { intraOpThreads: threads }), tables);
  }

  /** Unit-length mean-pooled embeddings of each input (token ids, none empty), in one batched run. */
  async embed(inputs: readonly (readonly number[])[], rows: RowAdapter): Promise<Float32Array[]> {
    const B = inputs.length;
    const T = Math.max(...inputs.map((x) => x.length));
    const ids = new BigInt64Array(B * T);
    const positions = new BigInt64Array(B * T);
    const pool = new Float32Array(B * T);
    inputs.forEach((x, b) => {
      for (let t = 0; t < T; t++) {
        ids[b * T + t] = BigInt(x[t] ?? 0);
        positions[b * T + t] = BigInt(t);
        if (t < x.length) pool[b * T + t] = 1 / x.length;
      }
    });
    const feeds: Record<string, HostTensor> = {
      input_ids: { dtype: "int64", shape: [B, T], data: ids },
      position_ids: { dtype: "int64", shape: [B, T], data: positions },
      pool: { dtype: "float32", shape: [B, T], data: pool },
      ...(this.tables?.feeds(
        inputs.map(() => rows),
        "embed",
      ) ?? {}),
    };
    const out = (await this.compiled.run(feeds)).pooled!.data as Float32Array; // (B, C)
    const C = this.model.config.hiddenSize;
    return inputs.map((_, b) => {
      const v = out.slice(b * C, (b + 1) * C);
      let norm = 0;
      for (const x of v) norm += x * x;
      norm = Math.sqrt(norm) || 1;
      for (let i = 0; i < C; i++) v[i] = v[i]! / norm;
      return v;
    });
  }

  async dispose(): Promise<void> {
    await this.compiled.dispose();
  }
}

/** One session per model that embeds: the base (with the adapter tables) and each full model, made on first use. */
export class Embedders {
  private readonly byModel = new Map<LoadedModel, Promise<Embedder>>();

  constructor(
    private readonly base: LoadedModel,
    private readonly tables: AdapterTables,
    private readonly threads: number | undefined,
    /** most inputs per run, and most padded tokens per run */
    private readonly maxBatch: number,
    private readonly maxTokens: number,
  ) {}

  /** `model`: the base (adapter rows from `rows`) or a full model of its own session. */
  async embed(model: LoadedModel, rows: RowAdapter, inputs: readonly (readonly number[])[]): Promise<Float32Array[]> {
    const isBase = model === this.base;
    let e = this.byModel.get(model);
    if (!e) {
      e = Embedder.create(model, isBase ? this.tables : null, this.threads);
      this.byModel.set(model, e);
      e.catch(() => this.byModel.delete(model));
    }
    const embedder = await e;
    const out: Float32Array[] = [];
    // longest first would pad less, but order must be kept: batches of consecutive inputs under both limits
    for (let i = 0; i < inputs.length;) {
      let j = i + 1;
      let T = inputs[i]!.length;
      while (j < inputs.length && j - i < this.maxBatch && Math.max(T, inputs[j]!.length) * (j - i + 1) <= this.maxTokens)
        T = Math.max(T, inputs[j++]!.length);
      out.push(...(await embedder.embed(inputs.slice(i, j), rows)));
      i = j;
    }
    return out;
  }

  /** Free a full model's session (deactivated). */
  async drop(model: LoadedModel): Promise<void> {
    const e = this.byModel.get(model);
    this.byModel.delete(model);
    await (await e?.catch(() => null))?.dispose();
  }

  async close(): Promise<void> {
    for (const m of [...this.byModel.keys()]) await this.drop(m);
  }
}
