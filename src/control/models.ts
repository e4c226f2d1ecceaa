// Models: BASE models registered from a Hugging Face directory, CUSTOM models created by a fine-tune
// (see fine-tunes.ts). Deleting is refused while endpoints serve the model or models derive from it.

import { existsSync, readdirSync, statSync } from "node:fs";
import { rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { expectedTensors, loadHfConfig } from "../models/index.ts";
import type { Mutation } from "./clusters.ts";
import type { ControlContext, Page, Scope, WorkRequests } from "./context.ts";
import { checkEtag, decodePage, fetchVisible, listCompartments, page, requireCompartment } from "./context.ts";
import { badRequest, conflict, incorrectState, notFound } from "./errors.ts";
import { commonFields, now, ocid } from "./ids.ts";
import { confineImportPath } from "./import-root.ts";
import { type ExportModelDetails, type ModelExport, ModelExports } from "./model-export.ts";
import { AdapterImports } from "./model-import-adapter.ts";
import { HubImports } from "./model-import-hub.ts";
import type { CreateModelDetails, ListQuery, UpdateModelDetails } from "./requests.ts";
import type { Model } from "./resources.ts";

/** Bytes of a model directory's weight files (*.safetensors), or null when it cannot be read. */
export function weightFileBytes(dir: string): number | null {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith(".safetensors"))
      .reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  } catch {
    return null;
  }
}

export class Models {
  private adapterImports: AdapterImports | null = null;
  private exports: ModelExports | null = null;
  private hubImports: HubImports | null = null;

  constructor(
    private readonly ctx: ControlContext,
    private readonly wr: WorkRequests,
    /** starts the fine-tune of a new CUSTOM model (fine-tunes.ts) */
    private readonly createFineTune: (scope: Scope, d: CreateModelDetails) => Promise<Mutation<Model>>,
    private readonly cancelFineTune: (modelId: string) => Promise<void>,
  ) {}

  private get store() {
    return this.ctx.store;
  }

  async create(scope: Scope, d: CreateModelDetails): Promise<Mutation<Model>> {
    requireCompartment(scope, d.compartmentId);
    if (d.modelSource && d.fineTuneDetails)
      throw badRequest("give either modelSource (register a BASE model) or fineTuneDetails (fine-tune a CUSTOM model), not both");
    if (d.adapterSource) {
      if (d.modelSource || d.fineTuneDetails)
        throw badRequest("adapterSource registers a CUSTOM model from an adapter: leave out modelSource and fineTuneDetails");
      this.adapterImports ??= new AdapterImports(this.ctx, this.wr);
      return this.adapterImports.create(scope, { ...d, adapterSource: d.adapterSource });
    }
    if (d.fineTuneDetails) {
      if (!d.baseModelId) throw badRequest("baseModelId: required with fineTuneDetails (the model to fine-tune)");
      return this.createFineTune(scope, d);
    }
    if (!d.modelSource)
      throw badRequest(
        "give modelSource to register a BASE model, baseModelId and fineTuneDetails to fine-tune one, or baseModelId and adapterSource to import an adapter",
      );
    if (d.baseModelId) throw badRequest("baseModelId: a BASE model has no base; leave it out with modelSource");
    if (d.modelSource.sourceType === "HUGGING_FACE_MODEL")
      return (this.hubImports ??= new HubImports(this.ctx, this.wr)).create(scope, d, d.modelSource);
    // the caller names a path on the server: only inside the operator's import roots, never the service's data
    const dir = await confineImportPath(d.modelSource.path, {
      roots: this.ctx.config.modelImportRoots,
      forbidden: [dirname(this.store.paths.database)],
    });
    const m = await this.registerBase(dir, d.compartmentId, d, d.modelSource.path);
    const w = await this.wr.create(m.compartmentId, "CREATE_MODEL", "Model", m.id, "CREATED");
    await this.wr.finish(w.id, "SUCCEEDED", `registered ${m.artifactPath}`);
    const row = (await this.store.models.get(m.id))!;
    return { value: row.value, etag: row.etag, workRequestId: w.id };
  }

  /** Register a Hugging Face directory as an ACTIVE BASE model (compartmentId null: every compartment sees it). */
  async registerBase(dir: string, compartmentId: string | null, d: Partial<CreateModelDetails> = {}, given = dir): Promise<Model> {
    let architecture: string;
    let parameterCount: number;
    try {
      const config = await loadHfConfig(dir);
      architecture = config.family;
      parameterCount = [...expectedTensors(config).values()].reduce((n, shape) => n + shape.reduce((a, b) => a * b, 1), 0);
    } catch (e) {
      // the reason without the resolved path (`given` is the caller's own spelling of it)
      throw badRequest(
        `modelSource.path: ${given} is not a supported Hugging Face model directory: ${(e as Error).message.replaceAll(dir, given)}`,
      );
    }
    const t = now();
    const hasTokenizer = existsSync(`${dir}/tokenizer.json`);
    const m: Model = {
      ...commonFields(
        ocid("generativeaimodel"),
        { ...d, compartmentId },
        dir.split("/").filter(Boolean).pop()!,
        hasTokenizer ? null : "no tokenizer.json: serve it through token ids only",
        t,
      ),
      type: "BASE",
      baseModelId: null,
      vendor: d.vendor ?? "huggingface",
      version: d.version ?? "1",
      capabilities: hasTokenizer ? ["TEXT_GENERATION", "CHAT", "FINE_TUNE"] : ["TEXT_GENERATION", "FINE_TUNE"],
      fineTuneDetails: null,
      modelMetrics: null,
      lifecycleState: "ACTIVE",
      isLongTermSupported: false,
      rootBaseModelId: "",
      architecture,
      artifactType: "FULL",
      trainableParameters: null,
      parameterCount,
      artifactBytes: weightFileBytes(dir),
      artifactPath: dir,
    };
    m.rootBaseModelId = m.id;
    await this.store.models.insert(m);
    return m;
  }

  /** The global BASE model registered from `dir`, if any (start-up registers the bundled model once). */
  async globalBase(dir: string): Promise<Model | null> {
    const r = await this.store.models.list({
      compartmentIds: [],
      includeGlobal: true,
      where: (x) => (x as Model).artifactPath === dir,
      limit: 1,
      offset: 0,
    });
    return r.items[0] ?? null;
  }

  /** Write the model's files as PEFT, a (merged) Hugging Face directory or GGUF to object storage (model-export.ts). */
  export(scope: Scope, id: string, d: ExportModelDetails): Promise<ModelExport> {
    this.exports ??= new ModelExports(this.ctx);
    return this.exports.export(scope, id, d);
  }

  get(scope: Scope, id: string): Promise<{ value: Model; etag: string }> {
    return fetchVisible((x) => this.store.models.get(x), scope, "model", id);
  }

  async list(scope: Scope, q: ListQuery): Promise<Page<Model>> {
    const offset = decodePage(q.page);
    const r = await this.store.models.list({
      compartmentIds: listCompartments(scope, q.compartmentId),
      includeGlobal: true,
      lifecycleState: q.lifecycleState,
      displayName: q.displayName,
      where: (x) => {
        const m = x as Model;
        return (!q.type || m.type === q.type) && (!q.capability || (m.capabilities as string[]).includes(q.capability));
      },
      sortBy: q.sortBy,
      sortOrder: q.sortOrder,
      limit: q.limit,
      offset,
    });
    return page(r, offset);
  }

  async update(scope: Scope, id: string, d: UpdateModelDetails, ifMatch?: string): Promise<Mutation<Model>> {
    const { value: m, etag } = await this.get(scope, id);
    if (m.compartmentId === null) throw notFound("model", id);
    checkEtag(id, etag, ifMatch);
    const next: Model = {
      ...m,
      displayName: d.displayName ?? m.displayName,
      description: d.description ?? m.description,
      vendor: d.vendor ?? m.vendor,
      version: d.version ?? m.version,
      freeformTags: d.freeformTags ?? m.freeformTags,
      definedTags: d.definedTags ?? m.definedTags,
      timeUpdated: now(),
    };
    const newEtag = await this.store.models.update(next, etag);
    if (newEtag === null) throw conflict(`model ${id} changed during the update: retry`);
    const w = await this.wr.create(m.compartmentId, "UPDATE_MODEL", "Model", id, "UPDATED");
    await this.wr.finish(w.id, "SUCCEEDED", "updated");
    return { value: next, etag: newEtag, workRequestId: w.id };
  }

  async delete(scope: Scope, id: string, ifMatch?: string): Promise<{ workRequestId: string }> {
    const { value: m, etag } = await this.get(scope, id);
    // the bundled base model belongs to no compartment, so no key may delete it
    if (m.compartmentId === null) throw notFound("model", id);
    checkEtag(id, etag, ifMatch);
    if (m.lifecycleState === "DELETED" || m.lifecycleState === "DELETING")
      throw incorrectState(`model ${id} is already ${m.lifecycleState}`);
    const endpoints = await this.store.endpoints.count((e) => e.modelId === id && e.lifecycleState !== "DELETED");
    if (endpoints > 0) throw conflict(`model ${id} is served by ${endpoints} endpoint(s): delete them first`);
    const children = await this.store.models.count(
      (x) => x.baseModelId === id && x.lifecycleState !== "DELETED" && x.lifecycleState !== "FAILED",
    );
    if (children > 0) throw conflict(`model ${id} is the base of ${children} other model(s): delete them first`);
    if ((await this.store.models.update({ ...m, lifecycleState: "DELETING", timeUpdated: now() }, etag)) === null)
      throw conflict(`model ${id} changed meanwhile: retry`);
    const w = await this.wr.create(m.compartmentId, "DELETE_MODEL", "Model", id, "IN_PROGRESS");
    if (m.lifecycleState === "CREATING" && m.fineTuneDetails) await this.cancelFineTune(id); // a pull from the Hub just finishes unused
    this.ctx.bg.run("model delete", async () => {
      // artifacts Sprig made are removed; a registered BASE directory belongs to the user and stays
      if (m.type === "CUSTOM" && m.artifactPath) await rm(m.artifactPath, { recursive: true, force: true });
      const row = this.ctx.bg.closed ? null : await this.store.models.get(id);
      if (row) await this.store.models.update({ ...row.value, lifecycleState: "DELETED", timeUpdated: now() });
      await this.wr.action(w.id, "DELETED");
      await this.wr.finish(w.id, "SUCCEEDED", "model deleted");
    });
    return { workRequestId: w.id };
  }
}
