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
 * Which implementation runs each rule in fineTune(): every rule in the graph. The elementwise rules (SGD,
 * AdamW) update each tensor in pieces of at most `PIECE` values (below), so one piece's ~14 kernels work on
 * data that stays in the CPU caches; over whole tensors each kernel streams the weights through memory and
 * AdamW took 4.9–7.2× the JS loop's time (src/training/README.md, Optimizer). Adafactor's factored moments
 * need whole matrices, and its graph already beat the JS loop (0.64–0.73×).
 */
const ENGINE: Record<OptimizerSettings["name"], "graph" | "js"> = { adafactor: "graph", adamw: "graph", sgd: "graph" };

/** values per piece of the elementwise rules: 2 MB of float32, a piece's inputs and temporaries fit in L2/L3 */
export const PIECE = 1 << 19;

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

/** One slice of a parameter that the update graph takes as its own inputs and outputs (a whole tensor, or a flat run of it). */
interface Piece {
  /** the parameter's name */
  key: string;
  /** the graph's name for it: the key, or key#i */
  name: string;
  offset: number;
  length: number;
  shape: number[];
}

/** Elementwise rules: flat pieces of at most `size` values; Adafactor: whole tensors (its moments factor over rows and columns). */
function piecesOf(settings: OptimizerSettings, shapes: ReadonlyMap<string, readonly number[]>, size: number): Piece[] {
  const pieces: Piece[] = [];
  for (const [key, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (settings.name === "adafactor" || n <= size) {
      pieces.push({ key, name: key, offset: 0, length: n, shape: [...shape] });
      continue;
    }
    for (let i = 0, offset = 0; offset < n; i++, offset += size) {
      const length = Math.min(size, n - offset);
      pieces.push({ key, name: `${key}#${i}`, offset, length, shape: [length] });
    }
  }
  return pieces;
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
    private readonly pieces: readonly Piece[],
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

  /** Build and compile the update graph for tensors of `shapes`; `pieceValues` sets the elementwise rules' piece size (tests). */
  static async create(
    settings: OptimizerSettings,
    shapes: ReadonlyMap<string, readonly number[]>,
    session: CompileOptions = {},
    pieceValues = PIECE,
  ): Promise<GraphOptimizer> {
    const pieces = piecesOf(settings, shapes, pieceValues);
    const g = buildUpdateGraph(settings, pieces);
    return new GraphOptimizer(settings, shapes, pieces, await compile(g, session));
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
    for (const k of this.shapes.keys())
      if (!params.get(k) || !grads.get(k)) throw new Error(`optimizer: no ${params.get(k) ? "gradient" : "parameter"} for ${k}`);
    // zero-copy views: ORT reads each piece and writes its new value into the same memory
    const view = (a: Float32Array, pc: Piece) => (pc.name === pc.key ? a : a.subarray(pc.offset, pc.offset + pc.length));
    for (const pc of this.pieces) {
      const t: HostTensor = { dtype: "float32", shape: pc.shape, data: view(params.get(pc.key)!, pc) };
      feeds[`param.${pc.name}`] = t;
      outputs[`new.param.${pc.name}`] = t;
      feeds[`grad.${pc.name}`] = { dtype: "float32", shape: pc.shape, data: view(grads.get(pc.key)!, pc) };
      for (const kind of slotKinds(this.settings, pc.shape)) {
        const shape = slotShape(kind, pc.shape);
        const s: HostTensor = { dtype: "float32", shape, data: view(this.slots.get(`${kind}.${pc.key}`)!, pc) };
        feeds[`slot.${kind}.${pc.name}`] = s;
        outputs[`new.slot.${kind}.${pc.name}`] = s;
      }
    }
    await this.compiled.run(feeds, { outputs });
    return this.norm[0]!;
  }

  dispose(): Promise<void> {
    return this.compiled.dispose();
  }
}

/** The state slots a rule keeps for a tensor of `shape` (the layout of optim.ts's Optimizer). */
function slotKinds(settings: OptimizerSettings, shape: readonly number[]): string[] {
  if (settings.name === "adamw") return ["exp_avg", "exp_avg_sq"];
  if (settings.name === "adafactor") return shape.length >= 2 ? ["exp_avg_sq_row", "exp_avg_sq_col"] : ["exp_avg_sq"];
  return [];
}

/** A slot's tensor shape: AdamW's and unfactored moments are the parameter's; factored rows/cols drop one axis. */
function slotShape(kind: string, shape: readonly number[]): number[] {
  if (kind === "exp_avg_sq_row") return shape.slice(0, -1);
  if (kind === "exp_avg_sq_col") return [...shape.slice(0, -2), shape[shape.length - 1]!];
  return [...shape];
}

/**
 * Inputs: param.<piece>, grad.<piece>, slot.<kind>.<piece> per piece, and the scalars (lr, max_norm, step_size = lr/(1-β1^t),
 * bc2_sqrt = sqrt(1-β2^t), decay = 1-lr·wd, beta2t = 1-t^-0.8). Outputs: new.param.<piece>, new.slot.<kind>.<piece>, grad_norm.
 */
function buildUpdateGraph(settings: OptimizerSettings, pieces: readonly Piece[]): Graph {
  const g = new Graph();
  const sc = Object.fromEntries(SCALARS.map((k) => [k, g.input(k, "float32", [])])) as Record<(typeof SCALARS)[number], Tensor>;
  const params = new Map<string, Tensor>();
  const grads = new Map<string, Tensor>();
  const shapes = new Map<string, number[]>();
  for (const pc of pieces) {
    params.set(pc.name, g.input(`param.${pc.name}`, "float32", pc.shape));
    grads.set(pc.name, g.input(`grad.${pc.name}`, "float32", pc.shape));
    shapes.set(pc.name, pc.shape);
  }
  const slot = (kind: string, k: string) => g.input(`slot.${kind}.${k}`, "float32", slotShape(kind, shapes.get(k)!));
  const setSlot = (kind: string, k: string, t: Tensor) => g.output(`new.slot.${kind}.${k}`, t);

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
