// Where a training step's memory goes: RSS after loading the SmolLM2-135M-shaped model, after compiling its
// training graph, and after each step (8 × 128), with CPU seconds and page faults. Run:
// npm run bench -- finetune-memory [--method=tfew|lora|vanilla] [--steps=2] [--json]
// (OPTS='{"memArena":true}' overrides trainingSessionOptions()). It takes several GB.
import { readFileSync } from "node:fs";
import { Rng } from "../src/engine/index.ts";
import { compile } from "../src/engine/runtime/compile.ts";
import { loadModel } from "../src/models/index.ts";
import { makeBatch } from "../src/training/batches.ts";
import { resolveTrainingConfig } from "../src/training/config.ts";
import type { Example } from "../src/training/data.ts";
import { paramFeeds, setupMethod, trainOutputs, trainingSessionOptions } from "../src/training/method-setup.ts";
import type { Method } from "../src/training/train-graph.ts";
import { ensureSmolLMRandom } from "./smollm-random.ts";
const mem = () => {
  const s = readFileSync("/proc/self/status", "utf8");
  const g = (k: string) => Math.round(Number(new RegExp(k + ":\\s+(\\d+)").exec(s)![1]) / 1024);
  return { rss_mb: g("VmRSS"), hwm_mb: g("VmHWM"), faults: process.resourceUsage().minorPageFault };
};
const rss = () => {
  const m = mem();
  return `rss ${m.rss_mb} hwm ${m.hwm_mb} MB faults ${m.faults}`;
};
const flag = (args: string[], k: string) => args.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);

export async function run(args: string[]): Promise<void> {
  const method = (flag(args, "method") ?? "tfew") as Method;
  if (!["tfew", "lora", "vanilla"].includes(method)) throw new Error(`--method must be tfew|lora|vanilla, got ${method}`);
  const steps = Number(flag(args, "steps") ?? 2);
  const stepS: number[] = [];
  const model = await loadModel(await ensureSmolLMRandom());
  console.log("loaded", rss());
  const cfg = resolveTrainingConfig(method, {});
  const setup = setupMethod(model, method, cfg, false, null);
  const tg = setup.train;
  const rng = new Rng(11);
  const B = 8,
    T = 128,
    PROMPT = 32;
  const examples: Example[] = Array.from({ length: B }, (_, i) => ({
    line: i + 1,
    prompt: Array.from({ length: PROMPT }, () => 1 + rng.int(model.config.vocabSize - 1)),
    completion: Array.from({ length: T - PROMPT }, () => 1 + rng.int(model.config.vocabSize - 1)),
  }));
  const batch = makeBatch(examples, setup.layout);
  const extra = JSON.parse(process.env.OPTS ?? "{}");
  const opts = { ...trainingSessionOptions(), ...extra };
  console.log(JSON.stringify(opts));
  let t = performance.now();
  const compiled = await compile(tg.graph, { ...opts, outputs: trainOutputs(tg) });
  console.log("compiled", ((performance.now() - t) / 1000).toFixed(1), "s", rss());
  const params = setup.initial;
  const grads = new Map(tg.trainable.map((k) => [k, new Float32Array(params.get(k)!.length)]));
  const into = Object.fromEntries(
    tg.trainable.map((k) => [`grad.${k}`, { dtype: "float32" as const, shape: tg.shapes.get(k)!, data: grads.get(k)! }]),
  );
  for (let s = 0; s < steps; s++) {
    t = performance.now();
    const c0 = process.cpuUsage();
    await compiled.run({ ...batch.feeds, ...paramFeeds(tg, params) }, { outputs: into });
    const c1 = process.cpuUsage(c0);
    stepS.push((performance.now() - t) / 1000);
    console.log(
      "step",
      s,
      ((performance.now() - t) / 1000).toFixed(2),
      "s",
      "cpu user",
      (c1.user / 1e6).toFixed(1),
      "sys",
      (c1.system / 1e6).toFixed(1),
      rss(),
    );
  }
  if (opts.profilePrefix) compiled.endProfiling();
  const m = mem();
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  if (args.includes("--json"))
    console.log(JSON.stringify({ bench: "finetune-memory", method, step_s: stepS.map(r3), peak_rss_mb: m.hwm_mb, rss_mb: m.rss_mb }));
}
