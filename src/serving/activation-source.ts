// What `activate` accepts, resolved and checked against the engine's base: a PEFT adapter directory,
// a full model directory (a vanilla custom model), or the same already in memory. Anything made from
// another base — other shapes, or another base fingerprint in sprig_adapter.json — is refused.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Adapter, expectedAdapterTensors } from "../adapters/adapter.ts";
import { ADAPTER_CONFIG, type AdapterMeta, SPRIG_META } from "../adapters/peft-io.ts";
import { type LoadedModel, type ModelConfig, loadModel } from "../models/index.ts";
import { ModelIoError } from "../models/io/errors.ts";
import { readAdapterDir } from "./adapter-file.ts";
import { AdapterMismatchError, InvalidRequestError } from "./errors.ts";

export type ActivationSource = string | Adapter | LoadedModel;

export type Resolved = { kind: "adapter"; adapter: Adapter; dir: string | null } | { kind: "full"; model: LoadedModel; dir: string | null };

const ARCH_FIELDS = ["family", "vocabSize", "hiddenSize", "numLayers", "numHeads", "numKvHeads", "headDim", "intermediateSize"] as const;

/**
 * Adapters (from a directory or memory) and in-memory models resolve synchronously — so that an
 * activation never waits behind a running step (see adapter-file.ts) —, model directories load async.
 */
export function resolveSource(src: ActivationSource, base: ModelConfig, fingerprint: string): Resolved | Promise<Resolved> {
  if (typeof src !== "string") {
    if ("weights" in src) return { kind: "full", model: checkFull(src, base, "the model"), dir: null };
    checkAdapterTensors(src, base);
    return { kind: "adapter", adapter: src, dir: null };
  }
  const dir = src;
  if (existsSync(join(dir, ADAPTER_CONFIG))) {
    checkMeta(dir, fingerprint);
    return { kind: "adapter", adapter: readAdapterDir(dir, base), dir };
  }
  if (existsSync(join(dir, "config.json"))) {
    checkMeta(dir, fingerprint);
    return loadFull(dir, base);
  }
  throw new InvalidRequestError(`${dir}: neither an adapter directory (${ADAPTER_CONFIG}) nor a model directory (config.json)`);
}

async function loadFull(dir: string, base: ModelConfig): Promise<Resolved> {
  let model: LoadedModel;
  try {
    model = await loadModel(dir);
  } catch (e) {
    if (e instanceof ModelIoError) throw new InvalidRequestError(e.message);
    throw e;
  }
  return { kind: "full", model: checkFull(model, base, dir), dir };
}

/** sprig_adapter.json, when present, names the base the adapter (or model) was made from. */
function checkMeta(dir: string, fingerprint: string): void {
  const path = join(dir, SPRIG_META);
  let meta: AdapterMeta = {};
  try {
    if (existsSync(path)) meta = JSON.parse(readFileSync(path, "utf8")) as AdapterMeta;
  } catch (e) {
    throw new InvalidRequestError(`${join(dir, SPRIG_META)}: unreadable (${(e as Error).message})`);
  }
  if (typeof meta.baseFingerprint === "string" && meta.baseFingerprint !== fingerprint) {
    throw new AdapterMismatchError(`${dir} was made from another base model (its ${SPRIG_META} names base ${meta.baseFingerprint}; this engine's base is ${fingerprint})`);
  }
}

function checkFull(model: LoadedModel, base: ModelConfig, what: string): LoadedModel {
  const diff = ARCH_FIELDS.filter((f) => model.config[f] !== base[f]).map((f) => `${f} ${model.config[f]} (base: ${base[f]})`);
  if (diff.length) throw new AdapterMismatchError(`${what} is not derived from this engine's base model: ${diff.join(", ")}`);
  return model;
}

function checkAdapterTensors(a: Adapter, base: ModelConfig): void {
  const expected = expectedAdapterTensors(base, a.config);
  const problems: string[] = [];
  if (expected.size === 0) problems.push(`target_modules ${JSON.stringify(a.config.target_modules)} match no module of this ${base.family} model`);
  for (const [k, shape] of expected) {
    const t = a.tensors.get(k);
    if (!t) problems.push(`missing ${k}`);
    else if (t.shape.join() !== shape.join()) problems.push(`${k}: shape [${t.shape}] but this base model needs [${shape}]`);
  }
  if (problems.length) throw new AdapterMismatchError(`adapter made for another base model:\n  ${problems.slice(0, 8).join("\n  ")}`);
}
