// Adapters on disk in PEFT's layout: adapter_config.json + adapter_model.safetensors (PEFT key names),
// plus Sprig's own sprig_adapter.json (base model fingerprint, training summary) that PEFT ignores.

import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ModelIoError } from "../models/io/errors.ts";
import { loadTensors, writeSafetensors, type TensorToWrite } from "../models/io/safetensors.ts";
import type { ModelConfig } from "../models/index.ts";
import { type Adapter, expectedAdapterTensors } from "./adapter.ts";
import { type PeftConfig, PeftConfigSchema } from "./peft-config.ts";

export const ADAPTER_CONFIG = "adapter_config.json";
export const ADAPTER_WEIGHTS = "adapter_model.safetensors";
export const SPRIG_META = "sprig_adapter.json";

/** Sprig's side file: what the adapter was made from. */
export interface AdapterMeta {
  /** fingerprint of the base model's config and weights (see baseFingerprint) */
  baseFingerprint?: string;
  [k: string]: unknown;
}

export async function saveAdapter(dir: string, adapter: Adapter, meta: AdapterMeta = {}): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tensors: Record<string, TensorToWrite> = {};
  for (const [k, t] of adapter.tensors) tensors[k] = { dtype: "F32", shape: t.shape, data: t.data };
  await writeSafetensors(join(dir, ADAPTER_WEIGHTS), tensors, { format: "pt" });
  await atomicWrite(join(dir, ADAPTER_CONFIG), `${JSON.stringify({ ...adapter.config, inference_mode: true }, null, 2)}\n`);
  await atomicWrite(join(dir, SPRIG_META), `${JSON.stringify(meta, null, 2)}\n`);
}

export async function readAdapterMeta(dir: string): Promise<AdapterMeta> {
  const p = join(dir, SPRIG_META);
  return existsSync(p) ? (JSON.parse(await readFile(p, "utf8")) as AdapterMeta) : {};
}

/**
 * Load an adapter made for `model` (by Sprig or by Python's PEFT). Every missing, unexpected or
 * mis-shaped tensor is reported in one error.
 */
export async function loadAdapter(dir: string, model: ModelConfig): Promise<Adapter> {
  const cfgPath = join(dir, ADAPTER_CONFIG);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(cfgPath, "utf8"));
  } catch (e) {
    throw new ModelIoError(cfgPath, `cannot read adapter config (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const parsed = parsePeftConfig(raw);
  if ("error" in parsed) throw new ModelIoError(cfgPath, parsed.error);
  const config = parsed.config;
  const expected = expectedAdapterTensors(model, config);
  if (expected.size === 0) throw new ModelIoError(cfgPath, `target_modules ${JSON.stringify(config.target_modules)} match no module of this ${model.family} model`);
  const stored = await loadTensors(join(dir, ADAPTER_WEIGHTS));
  const problems = adapterTensorProblems(expected, stored);
  if (problems.length) throw new ModelIoError(dir, `adapter does not fit this base model:\n  ${problems.join("\n  ")}`);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [k, shape] of expected) tensors.set(k, { shape, data: await stored.get(k)!.float32() });
  return { config, tensors };
}

/** The content of adapter_config.json as a supported PEFT config, or why it is not one. */
export function parsePeftConfig(raw: unknown): { config: PeftConfig } | { error: string } {
  const parsed = PeftConfigSchema.safeParse(raw);
  if (parsed.success) return { config: parsed.data };
  const why = parsed.error.issues.map((i) => `${i.path.join(".") || "peft_type"}: ${i.message}`).join("; ");
  return { error: `not a supported PEFT adapter (IA3 or LORA): ${why}` };
}

/** Every missing, mis-shaped and unexpected tensor of a stored adapter against the base's expected ones. */
export function adapterTensorProblems(expected: ReadonlyMap<string, number[]>, stored: ReadonlyMap<string, { shape: readonly number[] }>): string[] {
  const problems: string[] = [];
  for (const [k, shape] of expected) {
    const t = stored.get(k);
    if (!t) problems.push(`missing ${k} [${shape}]`);
    else if (t.shape.join() !== shape.join()) problems.push(`${k}: shape [${t.shape}] but this base model needs [${shape}]`);
  }
  for (const k of stored.keys()) if (!expected.has(k)) problems.push(`unexpected ${k}`);
  return problems;
}

async function atomicWrite(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}
