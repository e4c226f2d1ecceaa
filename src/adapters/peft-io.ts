// Adapters on disk in PEFT's layout: adapter_config.json + adapter_model.safetensors (PEFT key names),
// plus Sprig's own sprig_adapter.json (base model fingerprint, training summary) that PEFT ignores.

import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ModelIoError } from "../models/index.ts";
import { loadTensors, readSafetensorsSync, writeSafetensors, type TensorToWrite } from "../models/index.ts";
import type { ModelConfig } from "../models/index.ts";
import { type Adapter, expectedAdapterTensors } from "./adapter.ts";
import { type PeftConfig, PeftConfigSchema } from "./peft-config.ts";
import { formatIssues, listProblems } from "../errors/index.ts";

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

/** sprig_adapter.json of `dir`, {} when there is none (an adapter made by Python's PEFT). */
export async function readAdapterMeta(dir: string): Promise<AdapterMeta> {
  const p = join(dir, SPRIG_META);
  return existsSync(p) ? parseMeta(p, await readFile(p, "utf8")) : {};
}

/** readAdapterMeta, synchronously. */
export function readAdapterMetaSync(dir: string): AdapterMeta {
  const p = join(dir, SPRIG_META);
  return existsSync(p) ? parseMeta(p, readText(p, "cannot read")) : {};
}

function parseMeta(path: string, text: string): AdapterMeta {
  let meta: unknown;
  try {
    meta = JSON.parse(text);
  } catch (e) {
    throw new ModelIoError(path, `not valid JSON (${(e as Error).message})`);
  }
  if (typeof meta !== "object" || meta === null || Array.isArray(meta)) throw new ModelIoError(path, "expected a JSON object");
  const fp = (meta as AdapterMeta).baseFingerprint;
  if (fp !== undefined && typeof fp !== "string")
    throw new ModelIoError(path, `baseFingerprint must be a string (found ${JSON.stringify(fp)})`);
  return meta as AdapterMeta;
}

/**
 * The one base check of sprig_adapter.json: why the adapter (or model) in `dir` was made from another
 * base than the one of `fingerprint`, or null when it was, or when no base was recorded (Python PEFT).
 */
export function otherBase(dir: string, meta: AdapterMeta, fingerprint: string): string | null {
  if (meta.baseFingerprint === undefined || meta.baseFingerprint === fingerprint) return null;
  return `${dir} was made from another base model (its ${SPRIG_META} names base ${meta.baseFingerprint}; this base is ${fingerprint})`;
}

/** The tensors of `dir` do not fit the base model: missing, unexpected or mis-shaped (a 422, not a 400). */
export class AdapterFitError extends ModelIoError {}

/**
 * Load an adapter made for `model` (by Sprig or by Python's PEFT). Every missing, unexpected or
 * mis-shaped tensor is reported in one error (AdapterFitError); unreadable files are ModelIoErrors.
 */
export async function loadAdapter(dir: string, model: ModelConfig): Promise<Adapter> {
  const cfgPath = join(dir, ADAPTER_CONFIG);
  let text: string;
  try {
    text = await readFile(cfgPath, "utf8");
  } catch (e) {
    throw new ModelIoError(cfgPath, `cannot read adapter config (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const { config, expected } = adapterLayout(cfgPath, text, model);
  const stored = await loadTensors(join(dir, ADAPTER_WEIGHTS));
  checkAdapterTensors(dir, expected, stored);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [k, shape] of expected) tensors.set(k, { shape, data: await stored.get(k)!.float32() });
  return { config, tensors };
}

/**
 * loadAdapter with two synchronous reads (config, whole weights file): for activations made between
 * inference steps, where every async hop would wait for the running step (see serving/hosting/adapter-file.ts).
 */
export function loadAdapterSync(dir: string, model: ModelConfig): Adapter {
  const cfgPath = join(dir, ADAPTER_CONFIG);
  const { config, expected } = adapterLayout(cfgPath, readText(cfgPath, "cannot read adapter config"), model);
  const stored = readSafetensorsSync(join(dir, ADAPTER_WEIGHTS)).tensors;
  checkAdapterTensors(dir, expected, stored);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [k, shape] of expected) {
    const t = stored.get(k)!;
    if (t.dtype !== "F32" && t.dtype !== "F16" && t.dtype !== "BF16")
      throw new ModelIoError(join(dir, ADAPTER_WEIGHTS), `adapter tensors must be floating point, not ${t.dtype} (${k})`);
    tensors.set(k, { shape, data: t.float32() });
  }
  return { config, tensors };
}

/** The adapter's config and the tensors it must hold for `model`. */
function adapterLayout(cfgPath: string, text: string, model: ModelConfig): { config: PeftConfig; expected: Map<string, number[]> } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ModelIoError(cfgPath, `not valid JSON (${(e as Error).message})`);
  }
  const parsed = parsePeftConfig(raw);
  if ("error" in parsed) throw new ModelIoError(cfgPath, parsed.error);
  const config = parsed.config;
  const expected = expectedAdapterTensors(model, config);
  if (expected.size === 0)
    throw new AdapterFitError(
      cfgPath,
      `adapter made for another base model: target_modules ${JSON.stringify(config.target_modules)} match no module of this ${model.family} model`,
    );
  return { config, expected };
}

/**
 * The one tensor check of an adapter, on disk or in memory: throws an AdapterFitError listing every
 * missing, mis-shaped and unexpected tensor. `where` names the adapter in the error.
 */
export function checkAdapterTensors(
  where: string,
  expected: ReadonlyMap<string, number[]>,
  stored: ReadonlyMap<string, { shape: readonly number[] }>,
): void {
  const problems = adapterTensorProblems(expected, stored);
  if (problems.length === 0) return;
  throw new AdapterFitError(where, listProblems("adapter made for another base model, it does not fit this one:", problems, 20));
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new ModelIoError(path, `${what} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** The content of adapter_config.json as a supported PEFT config, or why it is not one. */
export function parsePeftConfig(raw: unknown): { config: PeftConfig } | { error: string } {
  const parsed = PeftConfigSchema.safeParse(raw);
  if (parsed.success) return { config: parsed.data };
  const why = formatIssues(parsed.error.issues, { whole: "peft_type" });
  return { error: `not a supported PEFT adapter (IA3 or LORA): ${why}` };
}

/** Every missing, mis-shaped and unexpected tensor of a stored adapter against the base's expected ones. */
export function adapterTensorProblems(
  expected: ReadonlyMap<string, number[]>,
  stored: ReadonlyMap<string, { shape: readonly number[] }>,
): string[] {
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
