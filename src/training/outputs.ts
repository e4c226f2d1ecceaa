// A run's result on disk: a PEFT adapter directory (T-Few, LoRA) or a full Hugging Face model directory
// (vanilla), each with metrics.json. Staged in a temp directory and renamed into place when complete.

import { copyFile, mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Adapter } from "../adapters/index.ts";
import { saveAdapter } from "../adapters/index.ts";
import type { LoadedModel } from "../models/index.ts";
import { type TensorToWrite, writeSafetensors } from "../models/index.ts";
import type { TrainingConfig } from "./config.ts";
import type { FineTuneMetrics } from "./metrics.ts";
import type { Method } from "./train-graph.ts";

export const METRICS_FILE = "metrics.json";

export interface OutputInfo {
  method: Method;
  config: TrainingConfig;
  baseFingerprint: string;
  baseModel: string;
  metrics: FineTuneMetrics;
}

/** Write the trained result into `stage` (a fresh directory), then rename it to `out`. */
export async function writeOutput(
  stage: string,
  out: string,
  model: LoadedModel,
  adapter: Adapter | undefined,
  params: ReadonlyMap<string, Float32Array>,
  info: OutputInfo,
): Promise<void> {
  await rm(stage, { recursive: true, force: true });
  await mkdir(stage, { recursive: true });
  const meta = {
    baseFingerprint: info.baseFingerprint,
    baseModel: info.baseModel,
    method: info.method,
    trainingConfig: info.config,
    finalLoss: info.metrics.finalLoss,
    finalAccuracy: info.metrics.finalAccuracy,
  };
  if (adapter) {
    const tensors = new Map([...adapter.tensors].map(([k, t]) => [k, { shape: t.shape, data: params.get(k)! }]));
    await saveAdapter(stage, { config: adapter.config, tensors }, meta);
  } else {
    await writeModelDir(stage, model, params);
    await writeFile(join(stage, "sprig_model.json"), `${JSON.stringify(meta, null, 2)}\n`);
  }
  await writeFile(join(stage, METRICS_FILE), `${JSON.stringify(info.metrics, null, 2)}\n`);
  await rename(stage, out);
}

/** Files of a base model directory that describe the model rather than hold weights: copied as they are. */
const isWeightFile = (f: string) =>
  f.endsWith(".safetensors") || f === "model.safetensors.index.json" || f.endsWith(".bin") || f.endsWith(".pt");

/** A Hugging Face model directory: the base's config (dtype float32) and tokenizer files, every weight in F32. */
export async function writeModelDir(dir: string, model: LoadedModel, params: ReadonlyMap<string, Float32Array>): Promise<void> {
  const tensors: Record<string, TensorToWrite> = {};
  for (const [k, w] of model.weights) tensors[k] = { dtype: "F32", shape: w.shape, data: params.get(k) ?? w.data };
  await writeSafetensors(join(dir, "model.safetensors"), tensors, { format: "pt" });
  for (const f of await readdir(model.dir, { withFileTypes: true })) {
    if (!f.isFile() || isWeightFile(f.name) || f.name.startsWith(".")) continue;
    if (f.name === "config.json") {
      const cfg = JSON.parse(await readFile(join(model.dir, f.name), "utf8")) as Record<string, unknown>;
      // the weights are written in float32 whatever the base stored
      for (const key of ["torch_dtype", "dtype"]) if (key in cfg) cfg[key] = "float32";
      await writeFile(join(dir, f.name), `${JSON.stringify(cfg, null, 2)}\n`);
    } else await copyFile(join(model.dir, f.name), join(dir, f.name));
  }
}
