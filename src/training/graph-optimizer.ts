// The optimizer step as one ONNX Runtime session over every trainable tensor: global-norm clipping, then
// the SGD / AdamW / Adafactor update rules of optim.ts (PyTorch's and transformers' exact formulas), in
// float32 kernels instead of a per-weight JS loop. Parameters and optimizer state are updated in place:
// ORT writes each output into the very array its input was fed from (every output depends on the whole
// of its input, so each input is read before its own output is written). Same slot names as Optimizer,
// so checkpoints of either resume in the other.

import { Graph, type Tensor, op } from "../engine/index.ts";
import { type CompileOptions, type Compiled, compile } from "../engine/index.ts";
import type { HostTensor } from "../engine/index.ts";
import type { TrainGraph } from "./train-graph.ts";
import { ADAFACTOR, Optimizer, type OptimizerSettings, type Params, type StepOptimizer } from "./optim.ts";

/**
 * Which implementation runs each rule in fineTune(), by measurement (bench/optimizer.ts: 49.6 M
 * SmolLM2-shaped values, JS and graph alternating in one process, on a heavily loaded 2-core machine): Adafactor's graph takes 0.64–0.73× the JS loop's time (the JS one has many passes and
 * a float64 scratch array); AdamW's graph takes 4.9–7.2× (its ~14 elementwise ORT kernels each stream the
 * tensors, where the JS loop is one fused pass), so AdamW and SGD stay in JS until a fused kernel exists.
 */
const ENGINE: Record<OptimizerSettings["name"], "graph" | "js"> = { adafactor: "graph", adamw: "js", sgd: "js" };

/** The optimizer fineTune() uses for a training graph's trainable tensors (see ENGINE). */
export async function createStepOptimizer(
  settings: OptimizerSettings,
  tg: Pick<TrainGraph, "trainable" | "shapes">,
  session: CompileOptions = {},
): Promise<StepOptimizer & { dispose(): Promise<void> }> {
  if (ENGINE[settings.name] === "graph") return GraphOptimizer.forTrainGraph(settings, tg, session);
  const js = new Optimizer(settings, new Map(tg.trainable.map((k) => [k, tg.shapes.get(k)!])));
  return Object.assign(js, { dispose: async () => undefined });
}

/** Per-step scalars the graph takes, as inputs (so one session serves every step). */
const SCALARS = ["lr", "max_norm", "step_size", "bc2_sqrt", "decay", "beta2t"] as const;

export class GraphOptimizer implements StepOptimizer {
  t = 0;
  readonly slots: Map<string, Float32Array>;
  private readonly scalars = Object.fromEntries(SCALARS.map((k) => [k, new Float32Array(1)])) as Record<
    (typeof SCALARS)[number],
    Float32Array
  >;
  private readonly norm = new Float32Array(1);

  private constructor(
    readonly settings: OptimizerSettings,
    readonly shapes: ReadonlyMap<string, readonly number[]>,
    private readonly compiled: Compiled,
  ) {
    // the JS optimizer defines the state layout; only its arrays are used here
    this.slots = new Optimizer(settings, shapes).slots;
  }

  /** The optimizer of a training graph's trainable tensors (not its other inputs, such as dropout masks). */
  static forTrainGraph(
    settings: OptimizerSettings,
    tg: Pick<TrainGraph, "trainable" | "shapes">,
    session: CompileOptions = {},
  ): Promise<GraphOptimizer> {
    return GraphOptimizer.create(settings, new Map(tg.trainable.map((k) => [k, tg.shapes.get(k)!])), session);
  }

  /** Build and compile the update graph for tensors of `shapes`. */
  static async create(
    settings: OptimizerSettings,
    shapes: ReadonlyMap<string, readonly number[]>,
    session: CompileOptions = {},
  ): Promise<GraphOptimizer> {
    const g = buildUpdateGraph(settings, shapes);
    return new GraphOptimizer(settings, shapes, await compile(g, session));
  }

  stateBytes(): number {
    let n = 0;
    for (const s of this.slots.values()) n += s.byteLength;
    return n;
  }

  /** Clip `grads` to `maxGradNorm` (0 = off), then update `params` and the state in place. Returns the norm before clipping. */
  async update(params: Params, grads: Params, lr: number, maxGradNorm: number): Promise<number> {
    this.t++;
    const { beta1, beta2, weightDecay } = this.settings;
    const s = this.scalars;
    s.lr[0] = lr;
    s.max_norm[0] = maxGradNorm > 0 ? maxGradNorm : Infinity;
    s.step_size[0] = lr / (1 - Math.pow(beta1, this.t));
    s.bc2_sqrt[0] = Math.sqrt(1 - Math.pow(beta2, this.t));
    s.decay[0] = 1 - lr * weightDecay;
    s.beta2t[0] = 1 - Math.pow(this.t, ADAFACTOR.decayRate);
    const feeds: Record<string, HostTensor> = {};
    const outputs: Record<string, HostTensor> = { grad_norm: { dtype: "float32", shape: [], data: this.norm } };
    for (const k of SCALARS) feeds[k] = { dtype: "float32", shape: [], data: s[k] };
    for (const [k, shape] of this.shapes) {
      const p = params.get(k);
      const gr = grads.get(k);
      if (!p || !gr) throw new Error(`optimizer: no ${p ? "gradient" : "parameter"} for ${k}`);
      const t: HostTensor = { dtype: "float32", shape: [...shape], data: p };
      feeds[`param.${k}`] = t;
      outputs[`new.param.${k}`] = t;
      feeds[`grad.${k}`] = { dtype: "float32", shape: [...shape], data: gr };
    }
    for (const [name, data] of this.slots) {
      const t: HostTensor = { dtype: "float32", shape: slotShape(name, this.shapes), data };
      feeds[`slot.${name}`] = t;
      outputs[`new.slot.${name}`] = t;
    }
    await this.compiled.run(feeds, { outputs });
    return this.norm[0]!;
  }

  dispose(): Promise<void> {
    return this.compiled.dispose();
  }
}

/** A slot's tensor shape: AdamW's and unfactored moments are the parameter's; factored rows/cols drop one axis. */
function slotShape(name: string, shapes: ReadonlyMap<string, readonly number[]>): number[] {
  const dot = name.indexOf(".");
  const kind = name.slice(0, dot);
  const shape = [...shapes.get(name.slice(dot + 1))!];
  if (kind === "exp_avg_sq_row") return shape.slice(0, -1);
  if (kind === "exp_avg_sq_col") return [...shape.slice(0, -2), shape[shape.length - 1]!];
  return shape;
}

/**
 * Inputs: param.<k>, grad.<k>, slot.<slot> per tensor, and the scalars (lr, max_norm, step_size = lr/(1-β1^t),
 * bc2_sqrt = sqrt(1-β2^t), decay = 1-lr·wd, beta2t = 1-t^-0.8). Outputs: new.param.<k>, new.slot.<slot>, grad_norm.
 */
export function buildUpdateGraph(settings: OptimizerSettings, shapes: ReadonlyMap<string, readonly number[]>): Graph {
  const g = new Graph();
  const sc = Object.fromEntries(SCALARS.map((k) => [k, g.input(k, "float32", [])])) as Record<(typeof SCALARS)[number], Tensor>;
  const params = new Map<string, Tensor>();
  const grads = new Map<string, Tensor>();
  for (const [k, shape] of shapes) {
    params.set(k, g.input(`param.${k}`, "float32", [...shape]));
    grads.set(k, g.input(`grad.${k}`, "float32", [...shape]));
  }
  const slot = (name: string, k: string) => g.input(`slot.${name}.${k}`, "float32", slotShape(`${name}.${k}`, shapes));
  const setSlot = (name: string, k: string, t: Tensor) => g.output(`new.slot.${name}.${k}`, t);

  // torch.nn.utils.clip_grad_norm_: coefficient max_norm / (norm + 1e-6), clamped at 1
  const squares = [...grads.values()].map((gr) => op.sum(op.mul(gr, gr)));
  const norm = op.sqrt(squares.reduce((a, b) => op.add(a, b)));
  g.output("grad_norm", norm);
  const coef = op.minimum(op.div(sc.max_norm, op.add(norm, 1e-6)), 1);

  const { beta1: b1, beta2: b2, eps, weightDecay: wd } = settings;
  for (const [k, shape] of shapes) {
    const p = params.get(k)!;
    const gr = op.mul(grads.get(k)!, coef);
    let next: Tensor;
    if (settings.name === "sgd") next = op.sub(p, op.mul(sc.lr, op.add(gr, op.mul(p, wd))));
    else if (settings.name === "adamw") {
      const m = op.add(op.mul(slot("exp_avg", k), b1), op.mul(gr, 1 - b1));
      const v = op.add(op.mul(slot("exp_avg_sq", k), b2), op.mul(op.mul(gr, gr), 1 - b2));
      setSlot("exp_avg", k, m);
      setSlot("exp_avg_sq", k, v);
      const denom = op.add(op.div(op.sqrt(v), sc.bc2_sqrt), eps);
      next = op.sub(op.mul(p, sc.decay), op.div(op.mul(m, sc.step_size), denom));
    } else {
      const g2 = op.add(op.mul(gr, gr), ADAFACTOR.eps1);
      const keep = sc.beta2t;
      const fresh = op.sub(1, keep);
      const ema = (old: Tensor, x: Tensor) => op.add(op.mul(old, keep), op.mul(x, fresh));
      let u: Tensor;
      if (shape.length >= 2) {
        const r = ema(slot("exp_avg_sq_row", k), op.mean(g2, -1)); // (…, rows)
        const c = ema(slot("exp_avg_sq_col", k), op.mean(g2, -2)); // (…, cols)
        setSlot("exp_avg_sq_row", k, r);
        setSlot("exp_avg_sq_col", k, c);
        const rFactor = op.reciprocal(op.sqrt(op.div(r, op.mean(r, -1, true)))); // (…, rows)
        const cFactor = op.reciprocal(op.sqrt(c)); // (…, cols)
        u = op.mul(op.mul(op.unsqueeze(rFactor, [shape.length - 1]), op.unsqueeze(cFactor, [shape.length - 2])), gr);
      } else {
        const v = ema(slot("exp_avg_sq", k), g2);
        setSlot("exp_avg_sq", k, v);
        u = op.div(gr, op.sqrt(v));
      }
      const rms = op.sqrt(op.mean(op.mul(u, u)));
      const scale = op.div(sc.lr, op.maximum(op.div(rms, ADAFACTOR.clipThreshold), 1));
      next = op.sub(op.sub(p, op.mul(op.mul(sc.lr, wd), p)), op.mul(u, scale));
    }
    g.output(`new.param.${k}`, next);
  }
  return g;
}
