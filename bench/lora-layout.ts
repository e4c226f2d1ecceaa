// Micro-benchmark behind the hosting engine's LoRA layout (src/serving/README.md): the LoRA part of a
// decode step on SmolLM2-135M shapes (30 layers, q_proj 576→576 and v_proj 576→192, 64 rows, half of
// them rank 8 and half rank 32, every row its own adapter), in four layouts, beside the base projections.
// Flags: --json, --rows=N (64), --reps=N (8), --threads=N.

import { Graph, type HostTensor, type Tensor, op, Rng } from "../src/engine/index.ts";
import { compile } from "../src/engine/runtime/compile.ts";

const LAYERS = 30;
const IN = 576;
const MODULES = [
  { name: "q", out: 576 },
  { name: "v", out: 192 },
];

interface Layout {
  name: string;
  what: string;
  /** adds the LoRA delta of module `m` in layer `l` to y; declares its inputs */
  delta(g: Graph, l: number, m: (typeof MODULES)[number], x: Tensor, y: Tensor): Tensor;
  feeds(rows: number, ranks: number[]): Record<string, HostTensor>;
}

const f32 = (shape: number[], rng: Rng): HostTensor => {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (rng.next() - 0.5) * 0.02;
  return { dtype: "float32", shape, data };
};
const declared = new WeakMap<Graph, Map<string, Tensor>>();
/** an index input shared by every layer's delta */
const index = (g: Graph, name: string, dim: string): Tensor => {
  const m = declared.get(g) ?? new Map<string, Tensor>();
  declared.set(g, m);
  if (!m.has(name)) m.set(name, g.input(name, "int64", [dim]));
  return m.get(name)!;
};
const i64 = (xs: number[]): HostTensor => ({ dtype: "int64", shape: [xs.length], data: BigInt64Array.from(xs, BigInt) });

/** gather each row's A, B from tables of `ranks` (one table per rank; rows of other ranks skip it) */
function gathered(name: string, what: string, tableRank: (r: number) => number, bucketRanks: number[]): Layout {
  return {
    name,
    what,
    delta(g, l, m, x, y) {
      for (const R of bucketRanks) {
        const rows = index(g, `rows${R}`, `L${R}`);
        const slots = index(g, `slots${R}`, `L${R}`);
        const a = op.gather(g.input(`a${R}.${l}.${m.name}`, "float32", [`N${R}`, IN, R]), slots, 0); // (L, in, R)
        const b = op.gather(g.input(`b${R}.${l}.${m.name}`, "float32", [`N${R}`, R, m.out]), slots, 0); // (L, R, out)
        const d = op.matmul(op.matmul(op.gather(x, rows, 0), a), b); // (L, 1, out)
        y = op.scatterNDAdd(y, op.unsqueeze(rows, [1]), d);
      }
      return y;
    },
    feeds(_rows, ranks) {
      const rng = new Rng(1);
      const out: Record<string, HostTensor> = {};
      for (const R of bucketRanks) {
        const mine = ranks.flatMap((r, b) => (tableRank(r) === R ? [b] : []));
        const at = mine.length ? mine : [0];
        out[`rows${R}`] = i64(at);
        out[`slots${R}`] = i64(mine.length ? mine.map((_, i) => i + 1) : [0]);
        for (let l = 0; l < LAYERS; l++)
          for (const m of MODULES) {
            out[`a${R}.${l}.${m.name}`] = f32([mine.length + 1, IN, R], rng);
            out[`b${R}.${l}.${m.name}`] = f32([mine.length + 1, R, m.out], rng);
          }
      }
      return out;
    },
  };
}

/** How a staged layout keeps A and B and multiplies by them: as MatMul's right operand (x on the left), or in
 *  PEFT's own layouts A (L, R, in), B (L, out, R) as the left operand (x the packed side). */
const SIDES = {
  right: {
    shapes: (L: number | string, R: number | string, out: number) => ({ a: [L, IN, R], b: [L, R, out] }),
    // x: (L, T, in) → (L, T, out)
    delta: (x: Tensor, a: Tensor, b: Tensor) => op.matmul(op.matmul(x, a), b),
  },
  left: {
    shapes: (L: number | string, R: number | string, out: number) => ({ a: [L, R, IN], b: [L, out, R] }),
    delta: (x: Tensor, a: Tensor, b: Tensor) => op.transpose(op.matmul(b, op.matmul(a, op.transpose(x, [0, 2, 1]))), [0, 2, 1]),
  },
} as const;

/** each rank bucket's rows come with their A, B already laid out in batch order (no gather in the graph),
 *  at the bucket's largest rank among its rows */
function staged(name: string, what: string, bucketOf: (r: number) => number, bucketRanks: number[], side: keyof typeof SIDES): Layout {
  const s = SIDES[side];
  return {
    name,
    what,
    delta(g, l, m, x, y) {
      for (const R of bucketRanks) {
        const rows = index(g, `rows${R}`, `L${R}`);
        const shape = s.shapes(`L${R}`, `R${R}`, m.out);
        const a = g.input(`a${R}.${l}.${m.name}`, "float32", shape.a);
        const b = g.input(`b${R}.${l}.${m.name}`, "float32", shape.b);
        const d = s.delta(op.gather(x, rows, 0), a, b); // (L, T, out)
        y = op.scatterNDAdd(y, op.unsqueeze(rows, [1]), d);
      }
      return y;
    },
    feeds(_rows, ranks) {
      const rng = new Rng(1);
      const out: Record<string, HostTensor> = {};
      for (const R of bucketRanks) {
        const mine = ranks.flatMap((r, b) => (bucketOf(r) === R ? [b] : []));
        const at = mine.length ? mine : [0];
        const rank = mine.length ? Math.max(...mine.map((b) => ranks[b]!)) : 1;
        out[`rows${R}`] = i64(at);
        for (let l = 0; l < LAYERS; l++)
          for (const m of MODULES) {
            const shape = s.shapes(at.length, rank, m.out);
            out[`a${R}.${l}.${m.name}`] = f32(shape.a as number[], rng);
            out[`b${R}.${l}.${m.name}`] = f32(shape.b as number[], rng);
          }
      }
      return out;
    },
  };
}

const LAYOUTS: Layout[] = [
  gathered("buckets-gather", "tables per rank bucket (8, 16, 32, 64), A/B gathered per row in the graph", bucket, [8, 16, 32, 64]),
  staged(
    "buckets-staged",
    "per rank bucket (8, 16, 32, 64), A/B staged in batch order by JS (copied when a row joins)",
    bucket,
    [8, 16, 32, 64],
    "right",
  ),
  staged(
    "buckets-left",
    "per rank bucket, staged, A (R, in) and B (out, R) as MatMul's left operand (x is the packed side)",
    bucket,
    [8, 16, 32, 64],
    "left",
  ),
  staged(
    "two-left",
    "two paths (ranks ≤ 16, > 16), each at its rows' largest rank, staged, left operand",
    (r) => (r <= 16 ? 16 : 64),
    [16, 64],
    "left",
  ),
  staged("one-left", "one path at the step's largest rank, staged, left operand", () => 0, [0], "left"),
  staged("one-staged", "one path, rank = the step's largest, A/B staged in batch order", () => 0, [0], "right"),
];

function bucket(r: number): number {
  return [8, 16, 32, 64].find((b) => r <= b) ?? 64;
}

/** A compiled graph of the base projections plus `layout`'s LoRA deltas, with its feeds. */
async function build(layout: Layout | null, rows: number, ranks: number[], threads?: number) {
  const g = new Graph();
  let x = g.input("x", "float32", ["B", 1, IN]);
  const rng = new Rng(9);
  let acc: Tensor | null = null;
  for (let l = 0; l < LAYERS; l++) {
    for (const m of MODULES) {
      const w = f32([IN, m.out], rng);
      let y = op.matmul(x, g.initializer(`w.${l}.${m.name}`, "float32", [IN, m.out], w.data)); // (B, 1, out)
      if (layout) y = layout.delta(g, l, m, x, y);
      if (m.out === IN) x = op.add(x, y);
      else acc = acc ? op.add(acc, y) : y;
    }
  }
  g.output("out", x);
  g.output("v", acc!);
  const compiled = await compile(g, { intraOpThreads: threads, allowSpinning: false });
  const feeds = { x: f32([rows, 1, IN], rng), ...(layout?.feeds(rows, ranks) ?? {}) };
  const feedMb = Object.values(feeds).reduce((s, t) => s + t.data.byteLength, 0) / 2 ** 20;
  /** median ms of `reps` runs after one warm-up */
  const time = async (reps: number) => {
    const ts: number[] = [];
    for (let i = 0; i < reps + 1; i++) {
      const t0 = performance.now();
      await compiled.run(feeds);
      if (i > 0) ts.push(performance.now() - t0);
    }
    ts.sort((a, b) => a - b);
    return ts[Math.floor(ts.length / 2)]!;
  };
  return { time, feedMb, dispose: () => compiled.dispose() };
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes("--json");
  const num = (n: string, d: number) => Number(args.find((a) => a.startsWith(`--${n}=`))?.slice(n.length + 3) ?? d);
  const rows = num("rows", 64);
  const reps = num("reps", 8);
  const threads = args.some((a) => a.startsWith("--threads=")) ? num("threads", 1) : undefined;
  const log = (s: string) => (json ? process.stderr : process.stdout).write(`${s}\n`);
  const mixed = Array.from({ length: rows }, (_, b) => (b % 2 ? 32 : 8));
  log(`LoRA layouts: ${LAYERS} layers × (q 576→576, v 576→192), ${rows} rows (half rank 8, half rank 32), median of ${reps}`);
  const rounds = num("rounds", 3);
  const out: Record<string, number> = {};
  for (const [label, n, ranks] of [
    ["b64", rows, mixed],
    ["b1", 1, [32]],
  ] as const) {
    const variants = [null, ...LAYOUTS];
    const built: Awaited<ReturnType<typeof build>>[] = [];
    for (const l of variants) built.push(await build(l, n, [...ranks], threads));
    // rounds interleave the layouts, so that load from other processes hits all alike; the best round counts
    const best = variants.map(() => Infinity);
    for (let r = 0; r < rounds; r++) for (let i = 0; i < built.length; i++) best[i] = Math.min(best[i]!, await built[i]!.time(reps));
    for (const b of built) await b.dispose();
    log(`  ${label}: base projections only ${best[0]!.toFixed(2)} ms`);
    out[`${label}_base_ms`] = +best[0]!.toFixed(2);
    LAYOUTS.forEach((l, i) => {
      const extra = best[i + 1]! - best[0]!;
      log(`  ${label}: ${l.name.padEnd(15)} +${extra.toFixed(2).padStart(7)} ms  (feeds ${built[i + 1]!.feedMb.toFixed(0)} MB)  ${l.what}`);
      out[`${label}_${l.name}_extra_ms`] = +extra.toFixed(2);
    });
  }
  if (json) process.stdout.write(`${JSON.stringify({ bench: "lora-layout", ...out })}\n`);
}
