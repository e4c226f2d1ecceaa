// `--adapter DIR` for commands that run a model: load a PEFT adapter (Sprig's or Python PEFT's), check it
// was trained on this base when Sprig recorded that, and apply it unmerged through graph hooks.

import type { Adapter } from "../adapters/index.ts";
import { baseFingerprint } from "../adapters/index.ts";
import { adapterKind } from "../adapters/index.ts";
import { loadAdapter, otherBase, readAdapterMeta } from "../adapters/index.ts";
import type { Graph } from "../engine/index.ts";
import type { LoadedModel, ModelHooks } from "../models/index.ts";
import { CliError } from "./errors.ts";

/** Graph hooks applying the adapter in `dir` to `model`; its tensors become graph constants. */
export async function adapterHooks(model: LoadedModel, dir: string): Promise<(graph: Graph) => ModelHooks> {
  const adapter = await loadAdapter(dir, model.config);
  const why = otherBase(dir, await readAdapterMeta(dir), baseFingerprint(model.config, model.weights));
  if (why !== null) throw new CliError(`--adapter: ${why}; it cannot be applied to ${model.dir}`);
  return hooksFor(model, adapter);
}

/** Hooks applying an in-memory adapter unmerged, its tensors as graph constants. */
export function hooksFor(model: LoadedModel, adapter: Adapter): (graph: Graph) => ModelHooks {
  return (graph) =>
    adapterKind(adapter.config).hooks(model.config, adapter.config, (key, shape) =>
      graph.constant("float32", shape, adapter.tensors.get(key)!.data),
    );
}
