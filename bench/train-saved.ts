// Which forward tensors a training graph's backward reads (so they stay alive from the forward to the
// backward), bytes by producing op and by shape, for the SmolLM2-135M-shaped model at 8 × 128 (N = 768 scored).
// A static count over the IR, before ORT's fusions. Run: node --import tsx bench/train-saved.ts (METHOD=tfew|lora|vanilla).
import { evalDim } from "../src/engine/ir/dim.ts";
import { ancestors } from "../src/engine/ir/graph.ts";
import { loadModel } from "../src/models/index.ts";
import { resolveTrainingConfig } from "../src/training/config.ts";
import { setupMethod, trainOutputs } from "../src/training/method-setup.ts";
import { ensureSmolLMRandom } from "./smollm-random.ts";
const model = await loadModel(await ensureSmolLMRandom());
const method = (process.env.METHOD ?? "tfew") as "tfew";
const setup = setupMethod(model, method, resolveTrainingConfig(method, {}), false, null);
const tg = setup.train;
const outs = trainOutputs(tg).map((o) => tg.graph.outputs.get(o)!);
const nodes = ancestors(outs);
const loss = tg.graph.outputs.get("loss")!;
const lossId = loss.node.id;
const env = new Map([
  ["B", 8],
  ["T", 128],
  ["N", 768],
]);
const bytes = (t: { shape: readonly unknown[] }) => 4 * t.shape.reduce<number>((p, d) => p * evalDim(d as never, env), 1);
const saved = new Map<number, { op: string; b: number; shape: string }>();
for (const n of nodes) {
  if (n.id <= lossId) continue;
  for (const i of n.inputs)
    if (i.node.id <= lossId && i.node.op !== "Input" && i.node.op !== "Initializer" && i.node.op !== "Constant")
      saved.set(i.id, { op: i.node.op, b: bytes(i), shape: String(i.shape) });
}
const by = new Map<string, number>();
let tot = 0;
for (const s of saved.values()) {
  by.set(s.op, (by.get(s.op) ?? 0) + s.b);
  tot += s.b;
}
console.log("saved total MB", (tot / 2 ** 20).toFixed(0), "count", saved.size);
for (const [op, b] of [...by].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(op.padEnd(20), (b / 2 ** 20).toFixed(0));
// per layer detail of big ones
const big = [...saved.values()].filter((s) => s.b > 1e6);
const shapes = new Map<string, number>();
for (const s of big) shapes.set(s.op + " " + s.shape, (shapes.get(s.op + " " + s.shape) ?? 0) + 1);
for (const [k, c] of [...shapes].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(c, k);
