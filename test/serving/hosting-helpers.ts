// Shared helpers for the hosting-engine tests: random (perturbed) adapters, and the reference — the same
// request generated alone by a plain runner whose hooks apply that one adapter as graph constants.

import { type Adapter } from "../../src/adapters/adapter.ts";
import { createIa3, ia3Hooks } from "../../src/adapters/ia3.ts";
import { createLora, loraConfig, loraHooks } from "../../src/adapters/lora.ts";
import { Rng } from "../../src/engine/index.ts";
import type { Graph } from "../../src/engine/index.ts";
import type { LoadedModel, ModelConfig, ModelHooks } from "../../src/models/index.ts";
import { HostingEngine, type HostingEngineInit } from "../../src/serving/hosting/hosting-engine.ts";
import { generate } from "../../src/serving/generate.ts";
import { ModelRunner } from "../../src/serving/model-runner.ts";
import { type SamplingInput, samplingOptions } from "../../src/serving/sampling.ts";
import type { Generation } from "../../src/serving/sequence.ts";

export const FIXTURES = "test/fixtures/models";
export const GOLDEN_ADAPTERS = "test/fixtures/golden/grad";

/** (IA)³ vectors drawn around 1, far enough from it to change greedy outputs. */
export function randomIa3(cfg: ModelConfig, seed: number, spread = 0.6): Adapter {
  const a = createIa3(cfg);
  const rng = new Rng(seed);
  for (const t of a.tensors.values()) for (let i = 0; i < t.data.length; i++) t.data[i] = 1 + spread * (rng.next() * 2 - 1);
  return a;
}

/** A LoRA adapter of rank r with random A and B (B starts at zero in training, which would be the base). */
export function randomLora(cfg: ModelConfig, seed: number, r = 2, targetModules?: string[]): Adapter {
  const a = createLora(cfg, loraConfig(cfg, { r, alpha: 2 * r, dropout: 0, targetModules }), seed);
  const rng = new Rng(seed + 1000);
  for (const [k, t] of a.tensors) if (k.endsWith("lora_B.weight")) for (let i = 0; i < t.data.length; i++) t.data[i] = rng.normal() * 0.5;
  return a;
}

/** Hooks applying one adapter with its tensors as constants (no tables, no gathers). */
export function constantHooks(cfg: ModelConfig, adapter: Adapter | null): ((g: Graph) => ModelHooks) | undefined {
  if (!adapter) return undefined;
  const c = adapter.config;
  if (c.peft_type === "IA3") return (g) => ia3Hooks(cfg, c, (key, n) => g.constant("float32", [n], adapter.tensors.get(key)!.data));
  return (g) => loraHooks(cfg, c, (key, shape) => g.constant("float32", shape, adapter.tensors.get(key)!.data));
}

/** Reference outputs: each request generated alone, one runner per adapter. */
export class Reference {
  private runners = new Map<Adapter | null, Promise<ModelRunner>>();

  constructor(private readonly model: LoadedModel) {}

  async alone(adapter: Adapter | null, prompt: number[], sampling: SamplingInput): Promise<Generation> {
    let r = this.runners.get(adapter);
    if (!r) {
      r = ModelRunner.create(this.model, { threads: 1, hooks: constantHooks(this.model.config, adapter) });
      this.runners.set(adapter, r);
    }
    const [out] = await generate(await r, [prompt], [samplingOptions(sampling)], { tokenizer: this.model.tokenizer });
    return out!;
  }

  async dispose(): Promise<void> {
    for (const r of this.runners.values()) await (await r).dispose();
  }
}

/** Prompts of varied lengths from a seed, within the vocabulary (BOS-like 1 first). */
export function prompts(cfg: ModelConfig, n: number, seed: number, maxLen = 9): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => [1, ...Array.from({ length: 1 + rng.int(maxLen - 1) }, () => 3 + rng.int(cfg.vocabSize - 3))]);
}

/**
 * Where the hosting tests run the engine's steps: SPRIG_TEST_STEP_THREAD=main|worker (unset: the engine's
 * default, the worker), so the same tests cover both (`SPRIG_TEST_STEP_THREAD=main node --test …`).
 */
export const STEP_THREAD: "main" | "worker" = process.env.SPRIG_TEST_STEP_THREAD === "main" ? "main" : "worker";

/** HostingEngine.create with the tests' step thread (an explicit `stepThread` in `init` wins). */
export const createEngine = (init: HostingEngineInit): Promise<HostingEngine> => HostingEngine.create({ stepThread: STEP_THREAD, ...init });

/** copies of the KV cache an engine holds per position (the worker's mirror doubles it; counted in kvCacheBytes) */
export const KV_COPIES = STEP_THREAD === "worker" ? 2 : 1;
