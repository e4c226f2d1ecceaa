// The hosting engine: one base model loaded once, any number of T-Few and LoRA adapters of it served from
// adapter tables in one session, full custom models in sessions of their own, all under continuous
// batching with bounded KV memory, per-model queues admitted round-robin, streaming and cancellation.

import { baseFingerprint } from "../../adapters/index.ts";
import { floatAlloc } from "../../engine/index.ts";
import { type LoadedModel, type ModelConfig, type SprigTokenizer, loadModel, weightBytes } from "../../models/index.ts";
import { AdapterTables } from "./adapter-tables.ts";
import { Residency, type Tier } from "./adapter-residency.ts";
import { readAdapterDir } from "./adapter-file.ts";
import { tableOptions } from "./hosting-capacity.ts";
import { type ActivationSource, type Resolved, resolveSource } from "./activation-source.ts";
import { type HostingOptions, type HostingOptionsInput, HostingOptionsSchema } from "./engine-options.ts";
import { ConflictError, InvalidRequestError, OverCapacityError, UnknownModelError } from "./errors.ts";
import { type HostedGeneration, HostedRequest } from "./hosted-request.ts";
import { HostedModel, type ModelStats } from "./hosted-model.ts";
import { Lane } from "./lane.ts";
import { prefixCacheOf } from "./prefix-cache.ts";
import { ModelRunner } from "../model-runner.ts";
import { Embedders } from "./embedder.ts";
import { promptProblem } from "../sequence.ts";
import { type EngineStats, Scheduler, type StreamEvent, type SubmitRequest, buildRequest, streamOf } from "./scheduler.ts";
import { formatIssues } from "../../errors/index.ts";

export type { EngineStats, StreamEvent, SubmitRequest };

export type HostingEngineInit = HostingOptionsInput & ({ modelDir: string; model?: never } | { model: LoadedModel; modelDir?: never });

export interface ActivatedModel {
  name: string;
  kind: ModelStats["kind"];
  /** memory added: the adapter's decoded form (a table row or host memory), or the full model's weights */
  bytes: number;
  /** an adapter's tier after activation: hot (it took a free row) or host (it takes one when requested) */
  tier?: Tier;
  /** time from the call to the model being servable */
  ms: number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$/;

export class HostingEngine {
  private readonly active = new Map<string, HostedModel>();
  private readonly reserved = new Set<string>();
  private readonly scheduler: Scheduler;
  private readonly residency: Residency;

  private constructor(
    readonly model: LoadedModel,
    readonly options: HostingOptions,
    readonly fingerprint: string,
    private readonly tables: AdapterTables,
    private readonly base: HostedModel,
    readonly baseBytes: number,
  ) {
    this.residency = new Residency(tables, options.adapterHostBytes, (dir) => readAdapterDir(dir, model.config));
    this.scheduler = new Scheduler(options, base, (m) => !m.resident || this.residency.ensureHot(m.resident));
  }

  static async create(init: HostingEngineInit): Promise<HostingEngine> {
    const { modelDir, model: given, ...rest } = init;
    const parsed = HostingOptionsSchema.safeParse(rest);
    if (!parsed.success) throw new InvalidRequestError(`hosting options: ${formatIssues(parsed.error.issues, { whole: "options" })}`);
    const opts = parsed.data;
    if ((modelDir === undefined) === (given === undefined))
      throw new InvalidRequestError("hosting options: give exactly one of modelDir or model");
    const model = given ?? (await loadModel(modelDir!));
    const cfg = model.config;
    const tables = new AdapterTables(cfg, tableOptions(cfg, opts), floatAlloc(opts.stepThread), opts.stepThread === "worker" ? 2 : 1);
    const fingerprint = baseFingerprint(cfg, model.weights);
    const bytes = weightBytes(model);
    const runner = await ModelRunner.create(model, {
      threads: opts.threads,
      allowSpinning: opts.spinThreads,
      weights: opts.weights,
      hooks: (g) => tables.hooks(g),
      thread: opts.stepThread,
    });
    // the session holds its own copy of the weights; ours is only needed when the caller owns the model
    if (!given) model.weights.clear();
    const base = new HostedModel(null, "base", new Lane(runner, tables, opts, prefixCacheOf(opts)), null, bytes, modelDir ?? null);
    return new HostingEngine(model, opts, fingerprint, tables, base, bytes);
  }

  get config(): ModelConfig {
    return this.model.config;
  }

  get tokenizer(): SprigTokenizer | null {
    return this.model.tokenizer;
  }

  /** Names of the active adapters and full models. */
  get names(): string[] {
    return [...this.active.keys()];
  }

  /**
   * Host an adapter (PEFT directory or in-memory Adapter: a table row if one is free, else host memory
   * until requested; no session rebuild) or a full custom model (model directory or LoadedModel: a session
   * of its own) under `name`. `pin`: the adapter keeps a table row from its first use on (never evicted).
   */
  activate(name: string, source: ActivationSource, opts: { pin?: boolean } = {}): Promise<ActivatedModel> {
    const t0 = performance.now();
    try {
      this.scheduler.checkOpen();
      if (!NAME.test(name))
        throw new InvalidRequestError(`model name '${name}': use 1-128 letters, digits and . _ - : @ /, starting with a letter or digit`);
      if (this.active.has(name) || this.reserved.has(name)) throw new ConflictError(`'${name}' is already active: deactivate it first`);
      const src = resolveSource(source, this.config, this.fingerprint);
      // an adapter is servable when this call returns: no await between the checks and the row write
      if (!(src instanceof Promise) && src.kind === "adapter") {
        let m: HostedModel | null = null;
        const resident = this.residency.add(name, src.adapter, src.dir, opts.pin ?? false, () => m!.busy);
        m = new HostedModel(name, resident.kind, this.base.lane, resident, resident.bytes, src.dir);
        return Promise.resolve({ ...this.install(m, t0), tier: resident.tier });
      }
      return this.activateFull(name, src, t0);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private async activateFull(name: string, pending: Resolved | Promise<Resolved>, t0: number): Promise<ActivatedModel> {
    this.reserved.add(name);
    try {
      const src = await pending;
      if (src.kind !== "full") throw new Error("activateFull: not a full model");
      this.scheduler.checkOpen();
      const full = this.scheduler.models.filter((x) => x.kind === "full").length;
      if (full >= this.options.maxFullModels) {
        throw new OverCapacityError(
          `${full} full custom models are already hosted (maxFullModels ${this.options.maxFullModels}): each costs a whole model's memory`,
          409,
          "too_many_full_models",
        );
      }
      const bytes = weightBytes(src.model);
      const o = this.options;
      const runner = await ModelRunner.create(src.model, {
        threads: o.threads,
        allowSpinning: o.spinThreads,
        weights: o.weights,
        thread: o.stepThread,
      });
      if (src.dir) src.model.weights.clear();
      try {
        this.scheduler.checkOpen(); // closed while compiling
      } catch (e) {
        await runner.dispose();
        throw e;
      }
      return this.install(
        new HostedModel(name, "full", new Lane(runner, null, this.options, this.base.lane.prefixCache), null, bytes, src.dir),
        t0,
      );
    } finally {
      this.reserved.delete(name);
    }
  }

  private install(m: HostedModel, t0: number): ActivatedModel {
    this.active.set(m.name!, m);
    this.scheduler.add(m);
    return { name: m.name!, kind: m.kind as ModelStats["kind"], bytes: m.bytes, ms: performance.now() - t0 };
  }

  /**
   * Stop serving `name`: new requests are refused at once (404); requests already accepted finish, or
   * with `cancelInFlight` fail with CancelledError "model_deactivated". Resolves when its memory is freed.
   */
  async deactivate(name: string, opts: { cancelInFlight?: boolean } = {}): Promise<void> {
    const m = this.active.get(name);
    if (!m) throw new UnknownModelError(name, this.names);
    this.active.delete(name);
    await this.scheduler.drain(m, opts.cancelInFlight ?? false, () => {
      this.base.lane.prefixCache?.dropOwner(m.cacheKey);
      if (m.resident) this.residency.remove(m.resident);
      else {
        void this.embedders?.drop(m.lane.runner.model);
        void m.lane.runner.dispose();
      }
    });
  }

  private embedders: Embedders | null = null;

  /**
   * Embeddings of token-id inputs by the base (`adapter` null), an adapter, or a full model: mean-pooled,
   * L2-normalised final hidden states (src/serving/hosting/embedder.ts), batched up to maxBatchSize inputs and
   * maxPrefillTokens padded tokens per run.
   */
  async embed(req: {
    adapter?: string | null;
    inputs: readonly (readonly number[])[];
  }): Promise<{ embeddings: Float32Array[]; promptTokens: number }> {
    this.scheduler.checkOpen();
    const target = req.adapter === undefined || req.adapter === null ? this.base : this.active.get(req.adapter);
    if (!target) throw new UnknownModelError(String(req.adapter), this.names);
    const model = target.lane.runner.model;
    if (!req.inputs.length) throw new InvalidRequestError("inputs: give at least one");
    req.inputs.forEach((x, i) => {
      const why = promptProblem(model.config, x);
      if (why) throw new InvalidRequestError(`inputs[${i}]: ${why}`);
    });
    if (target.resident) this.residency.touch(target.resident);
    // an adapter embeds through its table row: wait for one (as a request does), and hold it meanwhile
    while (target.resident && !this.residency.ensureHot(target.resident)) await this.scheduler.rowsChanged();
    target.holds++;
    try {
      return await this.embedRows(target, req.inputs);
    } finally {
      target.holds--;
      this.scheduler.kick();
    }
  }

  private async embedRows(
    target: HostedModel,
    inputs: readonly (readonly number[])[],
  ): Promise<{ embeddings: Float32Array[]; promptTokens: number }> {
    const model = target.lane.runner.model;
    this.embedders ??= new Embedders(
      this.model,
      this.tables,
      this.options.threads,
      this.options.maxBatchSize,
      this.options.maxPrefillTokens,
    );
    const embeddings = await this.embedders.embed(model, target.rows, inputs);
    return { embeddings, promptTokens: inputs.reduce((s, x) => s + x.length, 0) };
  }

  /** Generate for one request; resolves when it finishes (rejects with a HostingError). */
  submit(req: SubmitRequest): Promise<HostedGeneration> {
    try {
      return this.scheduler.enqueue(this.request(req), req.signal).done;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * The streaming variant: token events as they are produced, then one "done" event. Rejections (bad
   * request, over capacity, unknown model) throw synchronously; leaving the loop early cancels the request.
   */
  stream(req: Omit<SubmitRequest, "onToken">): AsyncGenerator<StreamEvent, void, undefined> {
    return streamOf((onToken, signal) => this.scheduler.enqueue(this.request({ ...req, onToken }), signal), req.signal);
  }

  stats(): EngineStats {
    return this.scheduler.stats({
      base: { bytes: this.baseBytes, fingerprint: this.fingerprint, tokenizer: this.tokenizer !== null },
      tables: {
        ia3: { rowBytes: this.tables.maxRowBytes("ia3"), ...this.tables.usage("ia3"), reservedBytes: this.tables.heldBytes("ia3") },
        lora: { rowBytes: this.tables.maxRowBytes("lora"), ...this.tables.usage("lora"), reservedBytes: this.tables.heldBytes("lora") },
      },
      tiers: this.residency.stats(),
    });
  }

  /** Refuse new work, cancel everything in flight (CancelledError "closed"), release the sessions. */
  async close(): Promise<void> {
    await this.scheduler.close();
    await this.embedders?.close();
    for (const m of this.scheduler.models) if (m.kind === "full" || m.kind === "base") await m.lane.runner.dispose();
    this.active.clear();
  }

  private request(req: SubmitRequest): HostedRequest {
    this.scheduler.checkOpen();
    const target = req.adapter === undefined || req.adapter === null ? this.base : this.active.get(req.adapter);
    if (!target) throw new UnknownModelError(String(req.adapter), this.names);
    if (target.resident) this.residency.touch(target.resident);
    const tokenizer = target.lane.runner.model.tokenizer ?? this.tokenizer;
    return buildRequest(target, req, target.lane.runner.model.config, tokenizer, this.options.kvCacheBytes, this.scheduler);
  }
}
