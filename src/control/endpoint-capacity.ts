// Endpoint creation's capacity rule: with the new endpoint, could every replica of the cluster hold all of
// its endpoints' models (LoRA ranks and modules, full models, weight memory)? Adapters beyond the engine's
// table rows are accepted: they wait in host memory or on disk until requested (adapter tiers). The check
// is the hosting engine's own (serving/hosting-capacity.ts) with the options the hosting worker uses, so
// what is refused here is exactly what would fail on activation.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ADAPTER_CONFIG, parsePeftConfig } from "../adapters/index.ts";
import { type ModelConfig, parseHfConfig } from "../models/index.ts";
import { type HeldModel, capacityProblems } from "../serving/index.ts";
import { ServiceError } from "./errors.ts";
import type { Model } from "./resources.ts";
import { memoryBudget, shape } from "./shapes.ts";

/** Artifacts never change once a model is ACTIVE: configs are read once per path. */
const configs = new Map<string, unknown>();

function readJson(path: string): unknown {
  if (!configs.has(path)) configs.set(path, JSON.parse(readFileSync(path, "utf8")));
  return configs.get(path);
}

function held(m: Model): HeldModel | null {
  if (m.type === "BASE") return { kind: "base" };
  if (m.artifactType === "FULL") return { kind: "full" };
  const parsed = parsePeftConfig(readJson(join(m.artifactPath!, ADAPTER_CONFIG)));
  return "config" in parsed ? { kind: "adapter", config: parsed.config } : null;
}

/**
 * Throws a 400 when `next` can never be served on a cluster of `unitShape` beside `models` (the cluster's
 * other endpoints' models): InvalidParameter when the model itself cannot be hosted (rank, modules),
 * LimitExceeded when it does not fit beside the others. Unreadable artifacts are left to activation.
 */
export function checkEndpointCapacity(clusterId: string, unitShape: string, base: Model, models: readonly Model[], next: Model): void {
  let baseConfig: ModelConfig;
  let all: HeldModel[];
  try {
    baseConfig = parseHfConfig(readJson(join(base.artifactPath!, "config.json")), base.artifactPath!);
    const list = [...models, next].map(held);
    if (list.some((x) => x === null)) return;
    all = list as HeldModel[];
  } catch {
    return;
  }
  const unit = shape(unitShape);
  const budget = memoryBudget(unit.memoryBytes);
  // the worker's engine: default options, the unit's KV cache; weights get what the heap and KV leave
  const weightBudget = unit.memoryBytes - budget.heapMb * 2 ** 20 - budget.kvCacheBytes;
  const problems = capacityProblems(baseConfig, { kvCacheBytes: budget.kvCacheBytes }, all, weightBudget);
  const own = problems.filter((p) => p.scope === "model");
  if (own.length)
    throw new ServiceError(
      400,
      "InvalidParameter",
      `modelId: model ${next.id} can never be served by a hosting cluster: ${own.map((p) => p.message).join("; ")}`,
    );
  if (problems.length)
    throw new ServiceError(
      400,
      "LimitExceeded",
      `dedicatedAiClusterId: cluster ${clusterId} cannot hold model ${next.id} beside its ${models.length} other endpoint${models.length === 1 ? "" : "s"}: ${problems.map((p) => p.message).join("; ")}. Delete an endpoint or use another cluster (${unitShape} units)`,
    );
}
