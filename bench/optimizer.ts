// Optimizer micro-bench: the JS rules (optim.ts) against the graph optimizer (graph-optimizer.ts) on
// SmolLM2-135M-shaped tensors (embedding + 6 layers, 49.6 M values), the two alternating in one process so
// both see the same load. Run: node --import tsx bench/optimizer.ts (ARENA=1: ORT memory arena on, as fineTune has it;
// RULES=adamw: only those; STEPS=N: steps per side, default 4). Prints JSON lines.
import { GraphOptimizer } from "../src/training/graph-optimizer.ts";
import { DEFAULT_OPTIMIZER_SETTINGS, Optimizer } from "../src/training/optim.ts";
const shapes = new Map<string, number[]>([["embed", [49152, 576]]]);
for (let l = 0; l < 6; l++)
  for (const [n, s] of [
    ["q", [576, 576]],
    ["k", [192, 576]],
    ["v", [192, 576]],
    ["o", [576, 576]],
    ["gate", [1536, 576]],
    ["up", [1536, 576]],
    ["down", [576, 1536]],
    ["n1", [576]],
    ["n2", [576]],
  ] as const)
    shapes.set(`${l}.${n}`, [...s]);
const mk = () => new Map([...shapes].map(([k, s]) => [k, new Float32Array(s.reduce((a, b) => a * b, 1)).fill(0.01)]));
const total = [...shapes.values()].reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
const RULES = (process.env.RULES ?? "adamw,adafactor").split(",") as Array<"adamw" | "adafactor">;
const STEPS = Number(process.env.STEPS ?? 4);
for (const name of RULES) {
  const settings = { ...DEFAULT_OPTIMIZER_SETTINGS, name, weightDecay: 0.01 };
  const js = new Optimizer(settings, shapes);
  const gr = await GraphOptimizer.create(settings, shapes, {
    intraOpThreads: Number(process.env.THREADS ?? 2),
    memArena: process.env.ARENA === "1",
    allowSpinning: false,
  });
  const p1 = mk(),
    p2 = mk(),
    g = mk();
  const tj: number[] = [],
    tg: number[] = [];
  for (let i = 0; i < STEPS; i++) {
    let t = performance.now();
    await js.update(p1, g, 1e-3, 1);
    tj.push(performance.now() - t);
    t = performance.now();
    await gr.update(p2, g, 1e-3, 1);
    tg.push(performance.now() - t);
  }
  const med = (x: number[]) => x.sort((a, b) => a - b)[Math.floor(x.length / 2)]!;
  console.log(
    JSON.stringify({
      optimizer: name,
      params: total,
      jsMs: Math.round(med(tj)),
      graphMs: Math.round(med(tg)),
      ratio: +(med(tg) / med(tj)).toFixed(2),
      rssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    }),
  );
  await gr.dispose();
}
