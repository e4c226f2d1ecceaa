// Optimizers over named Float32Array parameters, with the exact update rules of torch.optim.SGD,
// torch.optim.AdamW and transformers' Adafactor (checked against PyTorch in test/training/optim.test.ts);
// global-norm gradient clipping and the warmup + linear decay schedule.

export type OptimizerName = "sgd" | "adamw" | "adafactor";

export interface OptimizerSettings {
  name: OptimizerName;
  /** decoupled weight decay (AdamW: p *= 1 - lr·wd before the update; Adafactor: p -= lr·wd·p; SGD: L2 added to g) */
  weightDecay: number;
  /** AdamW */
  beta1: number;
  beta2: number;
  eps: number;
}

export const DEFAULT_OPTIMIZER_SETTINGS: Omit<OptimizerSettings, "name"> = { weightDecay: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

/** Adafactor's constants (transformers' defaults; scale_parameter, relative_step and warmup_init off, no momentum) */
export const ADAFACTOR = { eps1: 1e-30, clipThreshold: 1, decayRate: -0.8 };

export type Params = Map<string, Float32Array>;

/** What the training loop steps: this file's JS optimizer, or the same rules as one ORT session (graph-optimizer.ts). */
export interface StepOptimizer {
  /** completed steps */
  t: number;
  /** state by slot name (exp_avg.<k>, exp_avg_sq.<k>, exp_avg_sq_row.<k>, exp_avg_sq_col.<k>), for checkpoints */
  readonly slots: Map<string, Float32Array>;
  /** Clip `grads` in place to the global norm `maxGradNorm` (0 = off), then update `params` in place. Returns the norm before clipping. */
  update(params: Params, grads: Params, lr: number, maxGradNorm: number): Promise<number>;
  stateBytes(): number;
}

/**
 * One optimizer over a fixed set of named parameters. Its state is a flat map of named arrays plus the
 * step count, so a checkpoint can save and restore it exactly.
 */
export class Optimizer implements StepOptimizer {
  /** completed steps */
  t = 0;
  readonly slots = new Map<string, Float32Array>();

  constructor(
    readonly settings: OptimizerSettings,
    /** parameter name → shape (Adafactor factors the second moment of 2-D tensors) */
    readonly shapes: ReadonlyMap<string, readonly number[]>,
  ) {
    for (const [k, shape] of shapes) {
      const n = shape.reduce((a, b) => a * b, 1);
      if (settings.name === "adamw") {
        this.slots.set(`exp_avg.${k}`, new Float32Array(n));
        this.slots.set(`exp_avg_sq.${k}`, new Float32Array(n));
      } else if (settings.name === "adafactor") {
        if (shape.length >= 2) {
          const cols = shape[shape.length - 1]!;
          this.slots.set(`exp_avg_sq_row.${k}`, new Float32Array(n / cols));
          this.slots.set(`exp_avg_sq_col.${k}`, new Float32Array(cols * (n / cols / shape[shape.length - 2]!)));
        } else this.slots.set(`exp_avg_sq.${k}`, new Float32Array(n));
      }
    }
  }

  /** Bytes of optimizer state. */
  stateBytes(): number {
    let n = 0;
    for (const s of this.slots.values()) n += s.byteLength;
    return n;
  }

  async update(params: Params, grads: Params, lr: number, maxGradNorm: number): Promise<number> {
    const norm = clipGradNorm(grads.values(), maxGradNorm);
    this.step(params, grads, lr);
    return norm;
  }

  /** Update `params` in place with `grads` at learning rate `lr`. */
  step(params: Params, grads: Params, lr: number): void {
    this.t++;
    for (const [k, p] of params) {
      const g = grads.get(k);
      if (!g) throw new Error(`optimizer: no gradient for ${k}`);
      if (g.length !== p.length) throw new Error(`optimizer: gradient of ${k} has ${g.length} values, parameter ${p.length}`);
      if (this.settings.name === "sgd") this.sgd(p, g, lr);
      else if (this.settings.name === "adamw") this.adamw(k, p, g, lr);
      else this.adafactor(k, p, g, lr);
    }
  }

  private sgd(p: Float32Array, g: Float32Array, lr: number): void {
    const wd = this.settings.weightDecay;
    for (let i = 0; i < p.length; i++) p[i] = p[i]! - lr * (g[i]! + wd * p[i]!);
  }

  private adamw(k: string, p: Float32Array, g: Float32Array, lr: number): void {
    const { beta1: b1, beta2: b2, eps, weightDecay: wd } = this.settings;
    const m = this.slots.get(`exp_avg.${k}`)!;
    const v = this.slots.get(`exp_avg_sq.${k}`)!;
    const bc1 = 1 - Math.pow(b1, this.t);
    const bc2Sqrt = Math.sqrt(1 - Math.pow(b2, this.t));
    const stepSize = lr / bc1;
    const decay = 1 - lr * wd;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i]!;
      m[i] = b1 * m[i]! + (1 - b1) * gi;
      v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
      p[i] = p[i]! * decay - (stepSize * m[i]!) / (Math.sqrt(v[i]!) / bc2Sqrt + eps);
    }
  }

  private adafactor(k: string, p: Float32Array, g: Float32Array, lr: number): void {
    const beta2t = 1 - Math.pow(this.t, ADAFACTOR.decayRate);
    const u = new Float64Array(p.length); // the update, before clipping by its RMS
    const shape = this.shapes.get(k)!;
    if (shape.length >= 2) {
      const cols = shape[shape.length - 1]!;
      const rows = shape[shape.length - 2]!;
      const mats = p.length / (rows * cols);
      const r = this.slots.get(`exp_avg_sq_row.${k}`)!; // (…, rows)
      const c = this.slots.get(`exp_avg_sq_col.${k}`)!; // (…, cols)
      for (let b = 0; b < mats; b++) {
        const off = b * rows * cols;
        for (let i = 0; i < rows; i++) {
          let s = 0;
          for (let j = 0; j < cols; j++) s += g[off + i * cols + j]! ** 2 + ADAFACTOR.eps1;
          r[b * rows + i] = beta2t * r[b * rows + i]! + (1 - beta2t) * (s / cols);
        }
        for (let j = 0; j < cols; j++) {
          let s = 0;
          for (let i = 0; i < rows; i++) s += g[off + i * cols + j]! ** 2 + ADAFACTOR.eps1;
          c[b * cols + j] = beta2t * c[b * cols + j]! + (1 - beta2t) * (s / rows);
        }
        let rMean = 0;
        for (let i = 0; i < rows; i++) rMean += r[b * rows + i]!;
        rMean /= rows;
        for (let i = 0; i < rows; i++) {
          const rf = 1 / Math.sqrt(r[b * rows + i]! / rMean);
          for (let j = 0; j < cols; j++) u[off + i * cols + j] = rf * (1 / Math.sqrt(c[b * cols + j]!)) * g[off + i * cols + j]!;
        }
      }
    } else {
      const v = this.slots.get(`exp_avg_sq.${k}`)!;
      for (let i = 0; i < p.length; i++) {
        v[i] = beta2t * v[i]! + (1 - beta2t) * (g[i]! ** 2 + ADAFACTOR.eps1);
        u[i] = g[i]! / Math.sqrt(v[i]!);
      }
    }
    let ss = 0;
    for (let i = 0; i < u.length; i++) ss += u[i]! * u[i]!;
    const rms = Math.sqrt(ss / u.length);
    const scale = lr / Math.max(1, rms / ADAFACTOR.clipThreshold);
    const wd = this.settings.weightDecay;
    for (let i = 0; i < p.length; i++) p[i] = p[i]! - wd * lr * p[i]! - scale * u[i]!;
  }
}

/** Scale gradients in place so their global L2 norm is at most `maxNorm` (0 = no clipping). Returns the norm before. */
export function clipGradNorm(grads: Iterable<Float32Array>, maxNorm: number): number {
  const list = [...grads];
  let ss = 0;
  for (const g of list) for (let i = 0; i < g.length; i++) ss += g[i]! * g[i]!;
  const norm = Math.sqrt(ss);
  if (maxNorm > 0 && norm > maxNorm) {
    const s = maxNorm / (norm + 1e-6); // torch.nn.utils.clip_grad_norm_
    for (const g of list) for (let i = 0; i < g.length; i++) g[i] = g[i]! * s;
  }
  return norm;
}

/**
 * Learning rate of optimizer step `step` (0-based) of `total`: linear warmup over the first `warmup` steps
 * (reaching `lr` at the last of them, so no step is wasted at 0), then linear decay towards 0.
 */
export function learningRateAt(step: number, total: number, warmup: number, lr: number): number {
  if (step < warmup) return (lr * (step + 1)) / warmup;
  return (lr * Math.max(0, total - step)) / Math.max(1, total - warmup);
}
