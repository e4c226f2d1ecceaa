// Models out: a CUSTOM adapter model as a PEFT directory; any model as a Hugging Face directory (an
// adapter folded into its base's weights: T-Few scales the weights, LoRA adds (alpha/r)·B·A); and any
// Llama-family model as a GGUF file (F32, F16 or Q8_0) for llama.cpp. The files are written to object
// storage under a prefix, from a staging directory that is removed afterwards.

import { createReadStream, existsSync } from "node:fs";
import { copyFile, mkdtemp, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import type { Adapter } from "../adapters/index.ts";
import { mergeIa3 } from "../adapters/index.ts";
import { mergeLora } from "../adapters/index.ts";
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, SPRIG_META, loadAdapter } from "../adapters/index.ts";
import type { PeftConfig } from "../adapters/index.ts";
import { ggufProblem, exportGguf } from "../models/index.ts";
import type { WeightMap } from "../models/index.ts";
import { type LoadedModel, loadModel } from "../models/index.ts";
import { writeModelDir } from "../training/index.ts";
import type { ControlContext, Scope } from "./context.ts";
import { fetchVisible, visible } from "./context.ts";
import { badRequest, incorrectState, notFound } from "./errors.ts";
import type { Model } from "./resources.ts";

const NAME = z.string().min(1).max(256);

export const ExportModelDetails = z
  .strictObject({
    /** PEFT: the adapter as it is (adapter models only); HF: a Hugging Face directory, adapters merged; GGUF: one llama.cpp file */
    format: z.enum(["PEFT", "HF", "GGUF"]).describe("PEFT (adapter models), HF (merged Hugging Face directory) or GGUF (llama.cpp)"),
    ggufType: z.enum(["F32", "F16", "Q8_0"]).optional().describe("GGUF tensor type (default F16; 1-D tensors stay F32)"),
    namespaceName: NAME,
    bucketName: NAME.describe("created in the model's compartment when it does not exist"),
    prefix: z.string().max(1024).optional().describe("object name prefix (default exports/{modelId}/{format}/)"),
  })
  .meta({ id: "ExportModelDetails" });
export type ExportModelDetails = z.infer<typeof ExportModelDetails>;

export const ModelExport = z
  .object({
    modelId: z.string(),
    format: z.enum(["PEFT", "HF", "GGUF"]),
    ggufType: z.enum(["F32", "F16", "Q8_0"]).nullable(),
    namespaceName: z.string(),
    bucketName: z.string(),
    prefix: z.string(),
    objects: z.array(z.object({ name: z.string(), size: z.number(), md5: z.string() })),
  })
  .meta({ id: "ModelExport" });
export type ModelExport = z.infer<typeof ModelExport>;

/** How each adapter kind folds into its base's weights. */
const MERGE: Record<PeftConfig["peft_type"], (m: LoadedModel, a: Adapter) => WeightMap> = {
  IA3: (m, a) => mergeIa3(m.config, m.weights, a),
  LORA: (m, a) => mergeLora(m.config, m.weights, a),
};

export class ModelExports {
  constructor(private readonly ctx: ControlContext) {}

  private get store() {
    return this.ctx.store;
  }

  async export(scope: Scope, id: string, d: ExportModelDetails): Promise<ModelExport> {
    const { value: m } = await fetchVisible((x) => this.store.models.get(x), scope, "model", id);
    if (m.lifecycleState !== "ACTIVE" || !m.artifactPath)
      throw incorrectState(`model ${id} is ${m.lifecycleState}; only ACTIVE models can be exported`);
    if (d.format === "PEFT" && m.artifactType !== "ADAPTER")
      throw badRequest(`format: model ${id} is not an adapter (artifactType ${m.artifactType}); export it as HF or GGUF`);
    if (d.format !== "GGUF" && d.ggufType) throw badRequest("ggufType: only with format GGUF");
    const bucket = await this.store.objects.bucket(d.namespaceName, d.bucketName);
    if (bucket && !visible(scope, bucket.compartmentId)) throw notFound("bucket", `/n/${d.namespaceName}/b/${d.bucketName}`);
    const type = d.ggufType ?? "F16";
    const prefix = d.prefix ?? `exports/${id}/${d.format.toLowerCase()}/`;

    const stage = await mkdtemp(join(this.store.paths.artifacts, ".export-"));
    try {
      if (d.format === "PEFT") {
        for (const f of [ADAPTER_CONFIG, ADAPTER_WEIGHTS, SPRIG_META])
          if (existsSync(join(m.artifactPath, f))) await copyFile(join(m.artifactPath, f), join(stage, f));
      } else {
        const { model, merged } = await this.weights(m);
        if (d.format === "HF") {
          if (merged) await writeModelDir(stage, model, new Map([...merged].map(([k, w]) => [k, w.data])));
          else
            for (const f of await readdir(model.dir, { withFileTypes: true }))
              if (f.isFile() && !f.name.startsWith(".")) await copyFile(join(model.dir, f.name), join(stage, f.name));
        } else {
          const why = ggufProblem(model.config, model.dir);
          if (why) throw badRequest(`format: model ${id} cannot be exported as GGUF: ${why}`);
          await exportGguf(join(stage, `${safeName(m.displayName)}-${type.toLowerCase()}.gguf`), {
            config: model.config,
            weights: merged ?? model.weights,
            tokenizerDir: model.dir,
            name: m.displayName,
            type,
          });
        }
      }
      if (!bucket) await this.store.objects.createBucket(d.namespaceName, d.bucketName, m.compartmentId ?? scope.compartments[0]!);
      const objects: ModelExport["objects"] = [];
      for (const f of (await readdir(stage)).sort()) {
        const meta = await this.store.objects.put(d.namespaceName, d.bucketName, `${prefix}${f}`, createReadStream(join(stage, f)), {
          contentType: "application/octet-stream",
          maxBytes: Number.MAX_SAFE_INTEGER,
        });
        objects.push({ name: meta.name, size: meta.size, md5: meta.md5 });
      }
      return {
        modelId: id,
        format: d.format,
        ggufType: d.format === "GGUF" ? type : null,
        namespaceName: d.namespaceName,
        bucketName: d.bucketName,
        prefix,
        objects,
      };
    } finally {
      await rm(stage, { recursive: true, force: true });
    }
  }

  /** The model's full weights: its own directory, or its base's with the adapter folded in. */
  private async weights(m: Model): Promise<{ model: LoadedModel; merged: WeightMap | null }> {
    if (m.artifactType === "FULL") return { model: await loadModel(m.artifactPath!), merged: null };
    const root = (await this.store.models.get(m.rootBaseModelId))?.value;
    if (!root?.artifactPath) throw incorrectState(`the base model ${m.rootBaseModelId} of ${m.id} is gone`);
    const model = await loadModel(root.artifactPath);
    const adapter = await loadAdapter(m.artifactPath!, model.config);
    return { model, merged: MERGE[adapter.config.peft_type](model, adapter) };
  }
}

const safeName = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "") || "model";
