// Where a training step's memory goes: RSS after loading the SmolLM2-135M-shaped model, after compiling its
// training graph, and after each step (8 × 128), with CPU seconds and page faults. Run:
// node --import tsx bench/finetune-memory.ts (METHOD=tfew|lora|vanilla, STEPS=2, OPTS='{"memArena":true,"memPattern":true}'
// overrides trainingSessionOptions()). Only the finetune bench's owner runs it: it takes several GB.
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
const rss = () => {
  const s = readFileSync("/proc/self/status", "utf8");
  const g = (k: string) => Math.round(Number(new RegExp(k + ":\\s+(\\d+)").exec(s)![1]) / 1024);
  return `rss ${g("VmRSS")} hwm ${g("VmHWM")} MB faults ${process.resourceUsage().minorPageFault}`;
};
const method = (process.env.METHOD ?? "tfew") as Method;
const steps = Number(process.env.STEPS ?? 2);
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
