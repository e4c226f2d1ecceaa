// Fine-tuning benchmark on the random SmolLM2-135M-shaped model, batch 8 × 128 tokens: time of one full
// training step (graph run + clipping + optimizer) for T-Few, LoRA (r 8) and vanilla, peak RSS (each method
// in its own process), training-state bytes, and GFLOP/s against an ONNX Runtime MatMul chain timed in the
// same run, alternating with each method's steps (the chain's weights are inputs, as the training graphs'
// are), and the CPU seconds of each step. Flags: --json, --steps=N
// (timed steps per method, default 3).

import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { evalDim } from "../src/engine/ir/dim.ts";
import { ancestors } from "../src/engine/ir/graph.ts";
import { Rng } from "../src/engine/index.ts";
import { compile } from "../src/engine/runtime/compile.ts";
import { loadModel } from "../src/models/index.ts";
import { makeBatch } from "../src/training/batches.ts";
import { resolveTrainingConfig } from "../src/training/config.ts";
import type { Example } from "../src/training/data.ts";
import { dropoutFeeds, paramFeeds, setupMethod, trainOutputs, trainingSessionOptions } from "../src/training/method-setup.ts";
import { createStepOptimizer } from "../src/training/graph-optimizer.ts";
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
  /** of the best step: the graph run, and clipping + optimizer */
  graphS: number;
  optimizerS: number;
  /** CPU seconds (user + system, all threads) of the best step: less sensitive to other work on the machine than wall time */
  cpuS: number;
  /** MatMul chain GFLOP/s, best of runs interleaved with this method's steps */
  peakGflops: number;
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
  const compiled = await compile(tg.graph, { ...trainingSessionOptions(), outputs: trainOutputs(tg) });
  const params = setup.initial;
  // the optimizer fineTune() uses (graph-optimizer.ts: Adafactor in ORT, AdamW/SGD in JS)
  const opt = await createStepOptimizer(
    { name: cfg.optimizer, weightDecay: cfg.weightDecay, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    tg,
    trainingSessionOptions(),
  );
  const grads = new Map(tg.trainable.map((k) => [k, new Float32Array(params.get(k)!.length)]));
  const into = Object.fromEntries(
    tg.trainable.map((k) => [`grad.${k}`, { dtype: "float32" as const, shape: tg.shapes.get(k)!, data: grads.get(k)! }]),
  );
  const flops = matmulFlops(
    trainOutputs(tg).map((o) => tg.graph.outputs.get(o)!),
    new Map([
      ["B", B],
      ["T", T],
      ["N", batch.feeds.score_index?.shape[0] ?? 0],
    ]),
  );
  const peak = await matmulPeak(flops);
  // steps and MatMul-chain runs alternate, so both see the same load from the rest of the machine
  const times: Array<{ total: number; graph: number; optimizer: number; cpu: number }> = [];
  let peakGflops = 0;
  for (let s = -1; s < steps; s++) {
    peakGflops = Math.max(peakGflops, await peak.run());
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const feeds = { ...batch.feeds, ...paramFeeds(tg, params), ...dropoutFeeds(tg, setup.dropout, batch.rows, batch.length, 0, s + 1) };
    await compiled.run(feeds, { outputs: into });
    const t1 = performance.now();
    await opt.update(params, grads, cfg.learningRate, cfg.maxGradNorm);
    const t2 = performance.now();
    const c = process.cpuUsage(c0);
    if (s >= 0)
      times.push({ total: (t2 - t0) / 1000, graph: (t1 - t0) / 1000, optimizer: (t2 - t1) / 1000, cpu: (c.user + c.system) / 1e6 });
  }
  await peak.dispose();
  await compiled.dispose();
  await opt.dispose();
  times.sort((a, b) => a.total - b.total);
  const paramBytes = [...params.values()].reduce((a, v) => a + v.byteLength, 0);
  return {
    method,
    stepS: times[0]!.total,
    medianS: times[Math.floor(times.length / 2)]!.total,
    graphS: times[0]!.graph,
    optimizerS: times[0]!.optimizer,
    cpuS: times[0]!.cpu,
    peakGflops,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    stateBytes: 2 * paramBytes + opt.stateBytes(),
    trainable: paramBytes / 4,
    gflop: flops / 1e9,
  };
}

/** The engine bench's MatMul chain with about `flops` FLOPs, weights as inputs: each run() gives its GFLOP/s. */
async function matmulPeak(flops: number): Promise<{ run(): Promise<number>; dispose(): Promise<void> }> {
  const pairs = Math.max(1, Math.round(flops / (4 * B * T * SMOLLM2_135M.hidden * SMOLLM2_135M.intermediate)));
  const chain = matmulChain(SMOLLM2_135M, pairs);
  const m = await compile(chain.g, { allowSpinning: false });
  const out = m.allocOutputs(chain.feeds);
  await m.run(chain.feeds, { outputs: out }); // warm-up
  return {
    run: async () => {
      const t0 = performance.now();
      await m.run(chain.feeds, { outputs: out });
      return chain.flops / ((performance.now() - t0) / 1000) / 1e9;
    },
    dispose: () => m.dispose(),
  };
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
  const loadBefore = loadavg()[0]!;
  const results: MethodResult[] = [];
  for (const method of METHODS) {
    const r = spawnSync(process.execPath, ["--import", "tsx", "bench/main.ts", "finetune", `--method=${method}`, `--steps=${steps}`], {
      encoding: "utf8",
      maxBuffer: 1 << 24,
    });
    if (r.status !== 0) throw new Error(`bench finetune --method=${method} failed:\n${r.stderr}`);
    results.push(JSON.parse(r.stdout.trim().split("\n").pop()!) as MethodResult);
  }
  const peak = Math.max(...results.map((r) => r.peakGflops));
  const by = Object.fromEntries(results.map((r) => [r.method, r])) as Record<Method, MethodResult>;
  const gflops = (r: MethodResult) => r.gflop / r.stepS;
  // each method against the MatMul peak measured alongside its own steps
  const vsPeak = (r: MethodResult) => gflops(r) / r.peakGflops;
  console.log(`finetune: SmolLM2-135M-shaped random model, batch ${B}×${T}, ${steps} timed steps per method (best / median)`);
  console.log(
    [
      "method",
      "step s",
      "median s",
      "graph s",
      "optim s",
      "cpu s",
      "GFLOP",
      "GFLOP/s",
      "MatMul",
      "ratio",
      "peak RSS MB",
      "state bytes",
      "trainable",
    ]
      .map((h, i) => (i ? h.padStart(12) : h.padEnd(8)))
      .join(""),
  );
  for (const r of results) {
    const cells = [r.stepS, r.medianS, r.graphS, r.optimizerS, r.cpuS].map((v) => v.toFixed(3));
    cells.push(
      r.gflop.toFixed(1),
      gflops(r).toFixed(1),
      r.peakGflops.toFixed(1),
      vsPeak(r).toFixed(3),
      (r.peakRssBytes / 2 ** 20).toFixed(0),
      String(r.stateBytes),
      String(r.trainable),
    );
    console.log([r.method.padEnd(8), ...cells.map((c) => c.padStart(12))].join(""));
  }
  const ratio = by.tfew.stepS / by.vanilla.stepS;
  // each step time scaled by the MatMul speed seen beside it: on a machine shared with other work the
  // methods run minutes apart under different load, and this ratio is what equal conditions would give
  const adjusted = (by.tfew.stepS * by.tfew.peakGflops) / (by.vanilla.stepS * by.vanilla.peakGflops);
  const share = by.tfew.stateBytes / by.vanilla.stateBytes;
  console.log(
    `MatMul peak ${peak.toFixed(1)} GFLOP/s · T-Few step / vanilla ${ratio.toFixed(3)}, load-adjusted ${adjusted.toFixed(3)} (goal ≤ 0.7) · T-Few state / vanilla ${(100 * share).toFixed(4)}% (goal ≤ 0.1%)`,
  );
  if (json) {
    const r3 = (v: number) => Math.round(v * 1000) / 1000;
    console.log(
      JSON.stringify({
        bench: "finetune",
        tfew_step_s: r3(by.tfew.stepS),
        lora_step_s: r3(by.lora.stepS),
        vanilla_step_s: r3(by.vanilla.stepS),
        tfew_over_vanilla: r3(ratio),
        tfew_over_vanilla_load_adjusted: r3(adjusted),
        tfew_state_bytes: by.tfew.stateBytes,
        lora_state_bytes: by.lora.stateBytes,
        vanilla_state_bytes: by.vanilla.stateBytes,
        tfew_peak_rss_mb: Math.round(by.tfew.peakRssBytes / 2 ** 20),
        lora_peak_rss_mb: Math.round(by.lora.peakRssBytes / 2 ** 20),
        vanilla_peak_rss_mb: Math.round(by.vanilla.peakRssBytes / 2 ** 20),
        matmul_gflops: r3(peak),
        train_gemm_ratio: r3(vsPeak(by.tfew)),
        lora_gemm_ratio: r3(vsPeak(by.lora)),
        vanilla_gemm_ratio: r3(vsPeak(by.vanilla)),
        tfew_optimizer_s: r3(by.tfew.optimizerS),
        vanilla_optimizer_s: r3(by.vanilla.optimizerS),
        tfew_step_cpu_s: r3(by.tfew.cpuS),
        lora_step_cpu_s: r3(by.lora.cpuS),
        vanilla_step_cpu_s: r3(by.vanilla.cpuS),
        // 1-minute load average when the bench started and ended: wall times on a shared machine need it
        load_avg: [r3(loadBefore), r3(loadavg()[0]!)],
      }),
    );
  }
}
