// A BASE model from the Hugging Face Hub (modelSource HUGGING_FACE_MODEL): the request is answered once
// the revision is resolved and config.json is accepted — so a gated, missing or unsupported model is a
// 4xx and nothing is stored — then the weights download in the background into the server's Hugging
// Face cache (HF_HOME, HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE) while the model is CREATING and its work
// request reports progress. The access token is used for this pull only and never stored.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadHfConfig } from "../models/index.ts";
import { HubError, type PullResult, pullModel } from "../models/index.ts";
import type { Scope } from "./context.ts";
import { requireCompartment } from "./context.ts";
import { asServiceError } from "./errors.ts";
import { type Imported, ModelImport } from "./model-import.ts";
import { commonFields, now, ocid } from "./ids.ts";
import type { HuggingFaceHubModelSource } from "./model-sources.ts";
import type { CreateModelDetails } from "./requests.ts";
import type { Model } from "./resources.ts";

export class HubImports extends ModelImport {
  async create(scope: Scope, d: CreateModelDetails, src: HuggingFaceHubModelSource): Promise<Imported> {
    requireCompartment(scope, d.compartmentId);
    const revision = src.revision ?? "main";
    let plan: { commit: string; files: string[] } | null = null;
    let planned: () => void = () => undefined;
    const gate = new Promise<void>((r) => (planned = r));
    let wrId: string | null = null;
    // progress writes are queued in order (a later, larger figure must not be overtaken) and drained before the outcome
    let writes: Promise<void> = Promise.resolve();
    const progress = (file: string, done: number, total: number) => {
      const i = plan?.files.indexOf(file) ?? -1;
      if (!wrId || i < 0 || !plan) return;
      const [id, percent] = [wrId, (100 * (i + (total ? done / total : 1))) / plan.files.length];
      writes = writes.then(() => this.wr.progress(id, percent)).catch(() => undefined);
    };
    const pulling = pullModel(src.modelId, {
      revision,
      ...(src.accessToken ? { token: src.accessToken } : {}),
      beforeWeights: (p) => ((plan = p), planned()),
      onProgress: (p) => p.phase === "download" && progress(p.file, p.done, p.total),
    });
    // answer with the pull's own error if it fails before the weights
    await Promise.race([gate, pulling.then(() => undefined)]).catch((e: unknown) => {
      throw e instanceof HubError ? asServiceError(e, "modelSource") : e;
    });
    const { commit, files } = plan!;
    const t = now();
    const id = ocid("generativeaimodel");
    const name = src.modelId.split("/")[1]!;
    const m: Model = {
      ...commonFields(id, d, name, `downloading ${src.modelId}@${commit.slice(0, 12)}`, t),
      type: "BASE",
      baseModelId: null,
      vendor: d.vendor ?? src.modelId.split("/")[0]!,
      version: d.version ?? commit.slice(0, 12),
      capabilities: ["TEXT_GENERATION", "FINE_TUNE"],
      fineTuneDetails: null,
      modelMetrics: null,
      lifecycleState: "CREATING",
      isLongTermSupported: false,
      rootBaseModelId: id,
      architecture: "unknown",
      artifactType: "FULL",
      trainableParameters: null,
      artifactPath: null,
    };
    const created = await this.insert(m, "IN_PROGRESS");
    const w = (wrId = created.workRequestId);
    await this.wr.start(
      w,
      `pulling ${src.modelId}@${revision} (commit ${commit}): ${files.length ? files.join(", ") : "all files cached"}`,
    );
    this.ctx.bg.run("hub pull", () => this.finish(id, w, pulling, () => writes));
    return created;
  }

  private async finish(id: string, wrId: string, pulling: Promise<PullResult>, progressWritten: () => Promise<void>): Promise<void> {
    const current = async () => {
      const row = await this.store.models.get(id);
      return row && row.value.lifecycleState === "CREATING" ? row.value : null;
    };
    let r: PullResult;
    try {
      r = await pulling;
    } catch (e) {
      await progressWritten();
      const msg = e instanceof Error ? e.message : String(e);
      const m = await current();
      if (m) await this.store.models.update({ ...m, lifecycleState: "FAILED", lifecycleDetails: msg, timeUpdated: now() });
      await this.wr.error(wrId, "PullFailed", msg);
      await this.wr.finish(wrId, "FAILED", "pull failed");
      return;
    }
    await progressWritten();
    const config = await loadHfConfig(r.dir);
    const hasTokenizer = existsSync(join(r.dir, "tokenizer.json"));
    const m = await current();
    if (!m) return this.wr.finish(wrId, "CANCELED", "the model was deleted during the pull");
    await this.store.models.update({
      ...m,
      lifecycleState: "ACTIVE",
      lifecycleDetails: hasTokenizer ? null : "no tokenizer.json: serve it through token ids only",
      architecture: config.family,
      capabilities: hasTokenizer ? ["TEXT_GENERATION", "CHAT", "FINE_TUNE"] : ["TEXT_GENERATION", "FINE_TUNE"],
      artifactPath: r.dir,
      timeUpdated: now(),
    });
    await this.wr.action(wrId, "CREATED");
    await this.wr.finish(
      wrId,
      "SUCCEEDED",
      `pulled ${r.repoId}@${r.revision} (commit ${r.commit}): ${r.downloadedBytes} bytes downloaded${r.fromCache ? ", all from the cache" : ""}`,
    );
  }
}
