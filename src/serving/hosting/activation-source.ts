// What `activate` accepts, resolved and checked against the engine's base: a PEFT adapter directory,
// a full model directory (a vanilla custom model), or the same already in memory. Anything made from
// another base — other shapes, or another base fingerprint in sprig_adapter.json — is refused.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { type Adapter, expectedAdapterTensors } from "../../adapters/index.ts";
import { ADAPTER_CONFIG, checkAdapterTensors } from "../../adapters/index.ts";
import { type LoadedModel, type ModelConfig, loadModel } from "../../models/index.ts";
import { ModelIoError } from "../../models/index.ts";
import { asHostingError, checkBase, readAdapterDir } from "./adapter-file.ts";
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
    checkInMemory(src, base);
    return { kind: "adapter", adapter: src, dir: null };
  }
  const dir = src;
  if (existsSync(join(dir, ADAPTER_CONFIG))) {
    checkBase(dir, fingerprint);
    return { kind: "adapter", adapter: readAdapterDir(dir, base), dir };
  }
  if (existsSync(join(dir, "config.json"))) {
    checkBase(dir, fingerprint);
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

function checkFull(model: LoadedModel, base: ModelConfig, what: string): LoadedModel {
  const diff = ARCH_FIELDS.filter((f) => model.config[f] !== base[f]).map((f) => `${f} ${model.config[f]} (base: ${base[f]})`);
  if (diff.length) throw new AdapterMismatchError(`${what} is not derived from this engine's base model: ${diff.join(", ")}`);
  return model;
}

/** An in-memory adapter: the same tensor check as one read from disk. */
function checkInMemory(a: Adapter, base: ModelConfig): void {
  asHostingError(() => {
    const expected = expectedAdapterTensors(base, a.config);
    if (expected.size === 0)
      throw new AdapterMismatchError(
        `adapter made for another base model: target_modules ${JSON.stringify(a.config.target_modules)} match no module of this ${base.family} model`,
      );
    checkAdapterTensors("the adapter", expected, a.tensors);
  });
}
