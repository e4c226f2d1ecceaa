// Fine-tuning benchmark on the random SmolLM2-135M-shaped model, batch 8 × 128 tokens: time of one full
// training step (graph run + clipping + optimizer) for T-Few, LoRA (r 8) and vanilla, peak RSS (each method
// in its own process), training-state bytes, and GFLOP/s against an ONNX Runtime MatMul chain timed in the
// same run. Flags: --json, --steps=N (timed steps per method, default 3).

import { spawnSync } from "node:child_process";
import { evalDim } from "../src/engine/ir/dim.ts";
import { ancestors } from "../src/engine/ir/graph.ts";
import { Rng } from "../src/engine/index.ts";
import { compile } from "../src/engine/runtime/compile.ts";
import { loadModel } from "../src/models/index.ts";
import { makeBatch } from "../src/training/batches.ts";
import { resolveTrainingConfig } from "../src/training/config.ts";
import type { Example } from "../src/training/data.ts";
import { dropoutFeeds, paramFeeds, setupMethod, trainingSessionOptions } from "../src/training/method-setup.ts";
import { Optimizer, clipGradNorm } from "../src/training/optim.ts";
import type { Method } from "../src/training/train-graph.ts";
import { matmulChain } from "./engine.ts";
import { SMOLLM2_135M } from "./llama-block.ts";
import { ensureSmolLMRandom } from "./smollm-random.ts";

const B = 8;
const T = 128;
const PROMPT = 32;
const METHODS: Method[] = ["tfew", "lora", "vanilla"];

interface MethodResult {
  method: Method;
  stepS: number;
  medianS: number;
  peakRssBytes: number;
  stateBytes: number;
  trainable: number;
  gflop: number;
}

/** 2·M·N·K over the MatMuls the graph's outputs need. */
function matmulFlops(outputs: Parameters<typeof ancestors>[0], env: Map<string, number>): number {
  let f = 0;
  for (const n of ancestors(outputs)) {
    if (n.op !== "MatMul") continue;
    const a = n.inputs[0]!;
    f += 2 * evalDim(a.shape[a.rank - 1]!, env) * n.outputs[0]!.shape.reduce<number>((p, d) => p * evalDim(d, env), 1);
  }
  return f;
}

/** One method, in this process: time `steps` training steps after a warm-up step. */
async function measure(method: Method, steps: number): Promise<MethodResult> {
  const model = await loadModel(await ensureSmolLMRandom());
  const cfg = resolveTrainingConfig(method, method === "lora" ? { loraR: 8 } : {});
  const setup = setupMethod(model, method, cfg, false, null);
  const tg = setup.train;
  const rng = new Rng(11);
  const examples: Example[] = Array.from({ length: B }, (_, i) => ({
    line: i + 1,
    prompt: Array.from({ length: PROMPT }, () => 1 + rng.int(model.config.vocabSize - 1)),
    completion: Array.from({ length: T - PROMPT }, () => 1 + rng.int(model.config.vocabSize - 1)),
  }));
  const batch = makeBatch(examples, setup.layout);
  const compiled = await compile(tg.graph, trainingSessionOptions());
  const params = setup.initial;
  const opt = new Optimizer({ name: cfg.optimizer, weightDecay: cfg.weightDecay, beta1: 0.9, beta2: 0.999, eps: 1e-8 }, tg.shapes);
  const grads = new Map(tg.trainable.map((k) => [k, new Float32Array(params.get(k)!.length)]));
  const into = Object.fromEntries(tg.trainable.map((k) => [`grad.${k}`, { dtype: "float32" as const, shape: tg.shapes.get(k)!, data: grads.get(k)! }]));
  const times: number[] = [];
  for (let s = -1; s < steps; s++) {
    const t0 = performance.now();
    const feeds = { ...batch.feeds, ...paramFeeds(tg, params), ...dropoutFeeds(tg, setup.dropout, batch.rows, batch.length, 0, s + 1) };
    await compiled.run(feeds, { outputs: into });
    clipGradNorm(grads.values(), cfg.maxGradNorm);
    opt.step(params, grads, cfg.learningRate);
    if (s >= 0) times.push((performance.now() - t0) / 1000);
  }
  await compiled.dispose();
  times.sort((a, b) => a - b);
  const paramBytes = [...params.values()].reduce((a, v) => a + v.byteLength, 0);
  const env = new Map([["B", B], ["T", T], ["N", batch.feeds.score_index?.shape[0] ?? 0]]);
  return {
    method,
    stepS: times[0]!,
    medianS: times[Math.floor(times.length / 2)]!,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    stateBytes: 2 * paramBytes + opt.stateBytes(),
    trainable: paramBytes / 4,
    gflop: matmulFlops([...tg.graph.outputs.values()], env) / 1e9,
  };
}

/** Best time of the engine bench's MatMul chain with about `flops` FLOPs: the GEMM peak of this machine now. */
async function matmulPeak(flops: number): Promise<number> {
  const pairs = Math.max(1, Math.round(flops / (4 * B * T * SMOLLM2_135M.hidden * SMOLLM2_135M.intermediate)));
  const chain = matmulChain(SMOLLM2_135M, pairs);
  const m = await compile(chain.g);
  const out = m.allocOutputs(chain.feeds);
  let best = Infinity;
  for (let i = -2; i < 5; i++) {
    const t0 = performance.now();
    await m.run(chain.feeds, { outputs: out });
    if (i >= 0) best = Math.min(best, (performance.now() - t0) / 1000);
  }
  await m.dispose();
  return chain.flops / best / 1e9;
}

export async function run(args: string[]): Promise<void> {
  const steps = Number(args.find((a) => a.startsWith("--steps="))?.slice(8) ?? 3);
  const only = args.find((a) => a.startsWith("--method="))?.slice(9) as Method | undefined;
  if (only) {
    // child mode: one method per process, so its peak RSS is its own
    console.log(JSON.stringify(await measure(only, steps)));
    return;
  }
  const json = args.includes("--json");
  await ensureSmolLMRandom();
  const results: MethodResult[] = [];
  for (const method of METHODS) {
    const r = spawnSync(process.execPath, ["--import", "tsx", "bench/main.ts", "finetune", `--method=${method}`, `--steps=${steps}`], { encoding: "utf8", maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`bench finetune --method=${method} failed:\n${r.stderr}`);
    results.push(JSON.parse(r.stdout.trim().split("\n").pop()!) as MethodResult);
  }
  const peak = await matmulPeak(results[0]!.gflop * 1e9);
  const by = Object.fromEntries(results.map((r) => [r.method, r])) as Record<Method, MethodResult>;
  const gflops = (r: MethodResult) => r.gflop / r.stepS;
  console.log(`finetune: SmolLM2-135M-shaped random model, batch ${B}×${T}, ${steps} timed steps per method (best / median)`);
  console.log(["method", "step s", "median s", "GFLOP", "GFLOP/s", "vs MatMul", "peak RSS MB", "state bytes", "trainable"].map((h, i) => (i ? h.padStart(12) : h.padEnd(8))).join(""));
  for (const r of results) {
    const cells = [r.stepS.toFixed(3), r.medianS.toFixed(3), r.gflop.toFixed(1), gflops(r).toFixed(1), (gflops(r) / peak).toFixed(3), (r.peakRssBytes / 2 ** 20).toFixed(0), String(r.stateBytes), String(r.trainable)];
    console.log([r.method.padEnd(8), ...cells.map((c) => c.padStart(12))].join(""));
  }
  const ratio = by.tfew.stepS / by.vanilla.stepS;
  const share = by.tfew.stateBytes / by.vanilla.stateBytes;
  console.log(`MatMul peak ${peak.toFixed(1)} GFLOP/s · T-Few step / vanilla ${ratio.toFixed(3)} (goal ≤ 0.7) · T-Few state / vanilla ${(100 * share).toFixed(4)}% (goal ≤ 0.1%)`);
  if (json) {
    const r3 = (v: number) => Math.round(v * 1000) / 1000;
    console.log(
      JSON.stringify({
        bench: "finetune",
        tfew_step_s: r3(by.tfew.stepS),
        lora_step_s: r3(by.lora.stepS),
        vanilla_step_s: r3(by.vanilla.stepS),
        tfew_over_vanilla: r3(ratio),
        tfew_state_bytes: by.tfew.stateBytes,
        lora_state_bytes: by.lora.stateBytes,
        vanilla_state_bytes: by.vanilla.stateBytes,
        tfew_peak_rss_mb: Math.round(by.tfew.peakRssBytes / 2 ** 20),
        lora_peak_rss_mb: Math.round(by.lora.peakRssBytes / 2 ** 20),
        vanilla_peak_rss_mb: Math.round(by.vanilla.peakRssBytes / 2 ** 20),
        matmul_gflops: r3(peak),
        train_gemm_ratio: r3(gflops(by.tfew) / peak),
        vanilla_gemm_ratio: r3(gflops(by.vanilla) / peak),
      }),
    );
  }
}
