// Bring your own adapter: a PEFT adapter directory (IA³ or LoRA, saved by Sprig or by Python's PEFT),
// uploaded to object storage, becomes an ACTIVE CUSTOM model of the base it was trained on. Everything
// wrong with it — missing files, an unsupported config, missing/unexpected/mis-shaped tensors, another
// base's fingerprint — is reported in one 400, and nothing is stored unless all of it is right.

import { copyFile, mkdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { expectedAdapterTensors } from "../adapters/index.ts";
import { baseFingerprint } from "../adapters/index.ts";
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, SPRIG_META, adapterTensorProblems, parsePeftConfig } from "../adapters/index.ts";
import type { PeftConfig } from "../adapters/index.ts";
import { type ModelConfig, loadHfConfig, loadModel } from "../models/index.ts";
import { numel, readSafetensors } from "../models/index.ts";
import type { Scope } from "./context.ts";
import { fetchVisible, requireCompartment, visible } from "./context.ts";
import { listProblems } from "../errors/index.ts";
import { ServiceError, badRequest, incorrectState, notFound } from "./errors.ts";
import { commonFields, now, ocid } from "./ids.ts";
import { type Imported, ModelImport } from "./model-import.ts";
import type { ObjectStorageAdapterSource } from "./model-sources.ts";
import type { CreateModelDetails } from "./requests.ts";
import type { Model } from "./resources.ts";

const FILES = [ADAPTER_CONFIG, ADAPTER_WEIGHTS] as const;
const FLOAT_DTYPES = new Set(["F32", "F16", "BF16"]);

export interface CheckedAdapter {
  config: PeftConfig;
  parameters: number;
}

/**
 * Every problem of the adapter files in `files` (by file name) against the base model in `baseDir`, in
 * one list; `fingerprint()` is asked only when sprig_adapter.json names a base.
 */
export async function adapterProblems(
  files: ReadonlyMap<string, string>,
  base: ModelConfig,
  fingerprint: () => Promise<string>,
): Promise<{ problems: string[]; checked: CheckedAdapter | null }> {
  const problems: string[] = [];
  for (const f of FILES) if (!files.has(f)) problems.push(`${f}: missing`);
  let config: PeftConfig | null = null;
  const cfgPath = files.get(ADAPTER_CONFIG);
  if (cfgPath) {
    const raw = await readJson(cfgPath, ADAPTER_CONFIG, problems);
    if (raw !== undefined) {
      const parsed = parsePeftConfig(raw);
      if ("error" in parsed) problems.push(`${ADAPTER_CONFIG}: ${parsed.error}`);
      else config = parsed.config;
    }
  }
  if (config?.peft_type === "LORA") {
    if (config.use_dora) problems.push(`${ADAPTER_CONFIG}: use_dora: DoRA adapters are not supported`);
    if (config.bias !== "none") problems.push(`${ADAPTER_CONFIG}: bias "${config.bias}": only bias "none" is supported`);
  }
  let expected: Map<string, number[]> | null = null;
  if (config) {
    expected = expectedAdapterTensors(base, config);
    if (expected.size === 0)
      problems.push(
        `${ADAPTER_CONFIG}: target_modules ${JSON.stringify(config.target_modules)} match no module of this ${base.family} base model`,
      );
  }
  let parameters = 0;
  const wPath = files.get(ADAPTER_WEIGHTS);
  if (wPath) {
    try {
      const st = await readSafetensors(wPath);
      for (const t of st.tensors.values()) {
        if (!FLOAT_DTYPES.has(t.dtype))
          problems.push(`${ADAPTER_WEIGHTS}: ${t.name}: dtype ${t.dtype}; adapter tensors must be F32, F16 or BF16`);
        parameters += numel(t.shape);
      }
      if (expected && expected.size > 0)
        for (const p of adapterTensorProblems(expected, st.tensors)) problems.push(`${ADAPTER_WEIGHTS}: ${p}`);
    } catch (e) {
      problems.push(`${ADAPTER_WEIGHTS}: not a readable safetensors file (${(e as Error).message})`);
    }
  }
  const metaPath = files.get(SPRIG_META);
  if (metaPath) {
    const meta = await readJson(metaPath, SPRIG_META, problems);
    const named = (meta as { baseFingerprint?: unknown } | undefined)?.baseFingerprint;
    if (named !== undefined) {
      if (typeof named !== "string") problems.push(`${SPRIG_META}: baseFingerprint must be a string`);
      else {
        const fp = await fingerprint();
        if (named !== fp)
          problems.push(
            `${SPRIG_META}: the adapter was made from another base model (its baseFingerprint ${named}; this base model's is ${fp})`,
          );
      }
    }
  }
  return { problems, checked: config && problems.length === 0 ? { config, parameters } : null };
}

async function readJson(path: string, name: string, problems: string[]): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, "utf8"));
  } catch (e) {
    problems.push(`${name}: not valid JSON (${(e as Error).message})`);
    return undefined;
  }
}

export class AdapterImports extends ModelImport {
  /** fingerprints of base models by model id (a base's weights never change) */
  private readonly fingerprints = new Map<string, string>();

  /** Register the adapter named by `d.adapterSource` as an ACTIVE CUSTOM model of `d.baseModelId`. */
  async create(scope: Scope, d: CreateModelDetails & { adapterSource: ObjectStorageAdapterSource }): Promise<Imported> {
    requireCompartment(scope, d.compartmentId);
    if (!d.baseModelId) throw badRequest("baseModelId: required with adapterSource (the model the adapter was trained on)");
    const { value: base } = await fetchVisible((x) => this.store.models.get(x), scope, "model", d.baseModelId);
    if (base.lifecycleState !== "ACTIVE")
      throw incorrectState(`baseModelId: model ${base.id} is ${base.lifecycleState}; it must be ACTIVE`);
    if (base.artifactType !== "FULL" || !base.artifactPath)
      throw badRequest(
        `baseModelId: model ${base.id} is itself an adapter; give the BASE (or vanilla CUSTOM) model the adapter was trained on`,
      );
    const src = d.adapterSource;
    const bucket = await this.store.objects.bucket(src.namespaceName, src.bucketName);
    if (!bucket || !visible(scope, bucket.compartmentId))
      throw notFound("adapterSource: bucket", `/n/${src.namespaceName}/b/${src.bucketName}`);
    const files = new Map<string, string>();
    for (const f of [...FILES, SPRIG_META]) {
      const p = await this.store.objects.path(src.namespaceName, src.bucketName, `${src.prefix}${f}`);
      if (p) files.set(f, p);
    }
    let baseConfig: ModelConfig;
    try {
      baseConfig = await loadHfConfig(base.artifactPath);
    } catch (e) {
      throw new ServiceError(500, "InternalServerError", `base model ${base.id} cannot be read: ${(e as Error).message}`);
    }
    const { problems, checked } = await adapterProblems(files, baseConfig, () => this.fingerprint(base));
    if (!checked)
      throw badRequest(
        listProblems(
          `adapterSource: /n/${src.namespaceName}/b/${src.bucketName}/o/${src.prefix}* is not a PEFT adapter of model ${base.id}:`,
          problems,
          problems.length,
        ),
      );

    const id = ocid("generativeaimodel");
    const dir = join(this.store.paths.artifacts, "models", id);
    const tmp = `${dir}.importing`;
    await mkdir(tmp, { recursive: true });
    try {
      for (const [name, path] of files) await copyFile(path, join(tmp, name));
      await rename(tmp, dir);
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
    const method = checked.config.peft_type === "IA3" ? "tfew" : "lora";
    const t = now();
    const m: Model = {
      ...commonFields(id, d, `${base.displayName}-${method}-imported`, null, t),
      type: "CUSTOM",
      baseModelId: base.id,
      vendor: d.vendor ?? base.vendor,
      version: d.version ?? "1",
      capabilities: base.capabilities,
      fineTuneDetails: null,
      modelMetrics: null,
      lifecycleState: "ACTIVE",
      isLongTermSupported: false,
      rootBaseModelId: base.rootBaseModelId,
      architecture: base.architecture,
      artifactType: "ADAPTER",
      trainableParameters: checked.parameters,
      artifactPath: dir,
    };
    return this.insert(m, "CREATED", (wrId) =>
      this.wr.finish(
        wrId,
        "SUCCEEDED",
        `imported a ${checked.config.peft_type} adapter from /n/${src.namespaceName}/b/${src.bucketName}/o/${src.prefix}`,
      ),
    );
  }

  private async fingerprint(base: Model): Promise<string> {
    const known = this.fingerprints.get(base.id);
    if (known) return known;
    const loaded = await loadModel(base.artifactPath!);
    const fp = baseFingerprint(loaded.config, loaded.weights);
    this.fingerprints.set(base.id, fp);
    return fp;
  }
}
