// LoRA tables in rank buckets: every hosted LoRA adapter is held once in host memory, zero-padded to its
// rank bucket (e.g. 8, 16, 32, 64); per step, the rows of each (bucket, module) group are *staged* — their
// Aᵀ and scale·Bᵀ copied in batch order into that group's step buffers, which the graph takes as inputs.
// A row is copied when it joins a position and stays there while the batch keeps it (decode steps copy
// nothing), so the graph needs no gather of weights (see src/serving/README.md for what was measured).

import { type FloatAlloc, type Graph, type HostTensor, PLAIN_ALLOC, type Tensor, markWritten, op } from "../../engine/index.ts";
import { type Adapter, adaptedModules } from "../../adapters/index.ts";
import { loraScale } from "../../adapters/index.ts";
import type { LoraConfig } from "../../adapters/index.ts";
import type { ModelConfig } from "../../models/index.ts";

export interface LoraTableOptions {
  /** LoRA adapters held at once (rows besides row 0); 0 = no LoRA path in the graph */
  maxLora: number;
  /** rank buckets, ascending: an adapter of rank r is padded to the first bucket ≥ r */
  buckets: number[];
  targets: string[];
}

/** One hosted adapter: per adapted module, Aᵀ (in, R) and scale·Bᵀ (R, out) at its bucket's rank R. */
export interface LoraEntry {
  readonly rank: number;
  readonly bucket: number;
  readonly mats: ReadonlyMap<string, { a: Float32Array; b: Float32Array }>;
  /** module groups (paths without the layer index) it adapts */
  readonly groups: ReadonlySet<string>;
  readonly bytes: number;
}

interface ModuleSpec {
  path: string;
  group: string;
  inF: number;
  outF: number;
}

/** A path without its layer index: `model.layers.3.self_attn.q_proj` → `model.layers.*.self_attn.q_proj`. */
export const moduleGroup = (path: string): string => path.replace(/\.\d+\./, ".*.");

/** The rank buckets for a largest rank: powers of two from 8 up, then `rank` itself (rank ≤ 8: just it). */
export function defaultBuckets(rank: number): number[] {
  const out: number[] = [];
  for (let b = 8; b < rank; b *= 2) out.push(b);
  out.push(rank);
  return out;
}

/** Step buffers of one (bucket, group): which entry sits at each position, and its paths' A/B there. */
class StagedGroup {
  held: (LoraEntry | null)[] = [];
  bufs = new Map<string, { a: Float32Array; b: Float32Array }>();
  constructor(
    readonly R: number,
    readonly specs: ModuleSpec[],
    /** tracked shared memory for a worker-thread session: each staged row is reported to its mirror */
    private readonly alloc: FloatAlloc,
  ) {}

  /** Positions 0…n-1 hold `entries`; copies only those that changed. */
  stage(entries: LoraEntry[]): void {
    const n = entries.length;
    if (n > this.held.length) this.grow(Math.max(n, 2 * this.held.length));
    const R = this.R;
    for (let i = 0; i < n; i++) {
      const e = entries[i]!;
      if (this.held[i] === e) continue;
      for (const s of this.specs) {
        const buf = this.bufs.get(s.path)!;
        const dstA = buf.a.subarray(i * s.inF * R, (i + 1) * s.inF * R);
        const dstB = buf.b.subarray(i * R * s.outF, (i + 1) * R * s.outF);
        const m = e.mats.get(s.path);
        if (m) {
          dstA.set(m.a);
          dstB.set(m.b);
        } else {
          // an adapter of this group that leaves this layer alone
          dstA.fill(0);
          dstB.fill(0);
        }
        markWritten(dstA);
        markWritten(dstB);
      }
      this.held[i] = e;
    }
  }

  private grow(n: number): void {
    const R = this.R;
    const old = this.held.length;
    for (const s of this.specs) {
      const prev = this.bufs.get(s.path);
      const a = this.alloc.tracked(n * s.inF * R); // (n, in, R)
      const b = this.alloc.tracked(n * R * s.outF); // (n, R, out)
      if (prev) {
        a.set(prev.a);
        b.set(prev.b);
      }
      this.bufs.set(s.path, { a, b });
    }
    this.held.length = n;
    this.held.fill(null, old);
  }

  forget(e: LoraEntry): void {
    this.held = this.held.map((h) => (h === e ? null : h));
  }

  get bytes(): number {
    let n = 0;
    for (const b of this.bufs.values()) n += b.a.byteLength + b.b.byteLength;
    return n;
  }
}

export class LoraTables {
  private readonly specs: ModuleSpec[];
  private readonly byPath: Map<string, ModuleSpec>;
  /** group name → its module specs */
  private readonly groupSpecs = new Map<string, ModuleSpec[]>();
  readonly entries: (LoraEntry | null)[];
  /** purpose (one per session that steps: generation prefill/decode, embedding) → (bucket, group) → staging */
  private readonly stagers = new Map<string, Map<string, StagedGroup>>();
  /** per (bucket, group): one zero row, fed when no batch row uses it (keeps shapes non-empty) */
  private readonly zeroFeeds = new Map<string, Record<string, HostTensor>>();

  constructor(
    model: ModelConfig,
    readonly opts: LoraTableOptions,
    private readonly alloc: FloatAlloc = PLAIN_ALLOC,
    /** copies of the step buffers in memory (2 when a worker mirrors them), counted in `heldBytes` */
    private readonly copies = 1,
  ) {
    const cfg: LoraConfig = {
      peft_type: "LORA",
      target_modules: opts.targets,
      r: 1,
      lora_alpha: 1,
      lora_dropout: 0,
      fan_in_fan_out: false,
      bias: "none",
      use_rslora: false,
      use_dora: false,
    };
    this.specs =
      opts.maxLora === 0
        ? []
        : adaptedModules(model, cfg).map((a) => ({
            path: a.module.path,
            group: moduleGroup(a.module.path),
            inF: a.module.inFeatures,
            outF: a.module.outFeatures,
          }));
    this.byPath = new Map(this.specs.map((s) => [s.path, s]));
    for (const s of this.specs) this.groupSpecs.set(s.group, [...(this.groupSpecs.get(s.group) ?? []), s]);
    this.entries = Array.from({ length: opts.maxLora + 1 }, () => null);
  }

  get capacity(): number {
    return this.specs.length ? this.opts.maxLora : 0;
  }

  get maxRank(): number {
    return this.opts.buckets[this.opts.buckets.length - 1]!;
  }

  bucketOf(r: number): number | undefined {
    return this.opts.buckets.find((b) => r <= b);
  }

  /** bytes of an adapter of rank r on every table module (the largest a row can be, at the top bucket) */
  bytesAt(r: number): number {
    const R = this.bucketOf(r) ?? r;
    return this.specs.reduce((s, m) => s + (m.inF + m.outF) * R * 4, 0);
  }

  /** bytes an adapter of `c` occupies: each adapted module's Aᵀ and Bᵀ at its rank bucket */
  bytesFor(model: ModelConfig, c: LoraConfig): number {
    const R = this.bucketOf(c.r) ?? c.r;
    return adaptedModules(model, c).reduce((s, a) => s + (a.module.inFeatures + a.module.outFeatures) * R * 4, 0);
  }

  /** graph inputs per (bucket, group): rows `lora{R}_rows:{group}` (L), `lora{R}_a:{path}` (L, in, R), `lora{R}_b:{path}` (L, R, out) */
  hook(graph: Graph): (path: string, x: Tensor, inner: (x: Tensor) => Tensor) => Tensor {
    const rows = new Map<string, Tensor>();
    // the row count of (bucket R, group g) is one symbol shared by its index and its A/B inputs
    const groupIndex = new Map([...this.groupSpecs.keys()].map((g, i) => [g, i]));
    const dim = (R: number, g: string) => `L${R}_${groupIndex.get(g)!}`;
    for (const R of this.opts.buckets)
      for (const g of this.groupSpecs.keys()) rows.set(`${R}:${g}`, graph.input(`lora${R}_rows:${g}`, "int64", [dim(R, g)]));
    return (path, x, inner) => {
      let y = inner(x);
      const s = this.byPath.get(path);
      if (!s) return y;
      for (const R of this.opts.buckets) {
        const idx = rows.get(`${R}:${s.group}`)!;
        const a = graph.input(`lora${R}_a:${path}`, "float32", [dim(R, s.group), s.inF, R]); // (L, in, R)
        const b = graph.input(`lora${R}_b:${path}`, "float32", [dim(R, s.group), R, s.outF]); // (L, R, out)
        const delta = op.matmul(op.matmul(op.gather(x, idx, 0), a), b); // (L, T, out)
        y = op.scatterNDAdd(y, op.unsqueeze(idx, [1]), delta); // (B, T, out)
      }
      return y;
    };
  }

  /** Why an adapter of `c` cannot be held (empty: it can). */
  problems(model: ModelConfig, c: LoraConfig): string[] {
    const out: string[] = [];
    if (c.r > this.maxRank) out.push(`rank ${c.r} exceeds this engine's LoRA rank ${this.maxRank}`);
    if (c.use_dora) out.push("DoRA adapters are not supported");
    if (c.bias !== "none") out.push(`bias "${c.bias}" is not supported (only "none")`);
    for (const a of adaptedModules(model, c))
      if (!this.byPath.has(a.module.path))
        out.push(`${a.module.path} is not a LoRA target of this engine (targets: ${this.opts.targets.join(", ")})`);
    return out;
  }

  /** A checked adapter in table form: A, B transposed and zero-padded to its bucket, scale folded into B. */
  prepare(model: ModelConfig, adapter: Adapter, c: LoraConfig): LoraEntry {
    const r = c.r;
    const R = this.bucketOf(r)!;
    const scale = loraScale(c);
    const mats = new Map<string, { a: Float32Array; b: Float32Array }>();
    const groups = new Set<string>();
    let bytes = 0;
    for (const m of adaptedModules(model, c)) {
      const s = this.byPath.get(m.module.path)!;
      const A = adapter.tensors.get(m.tensors[0]!.key)!.data; // (r, in)
      const B = adapter.tensors.get(m.tensors[1]!.key)!.data; // (out, r)
      const at = new Float32Array(s.inF * R); // (in, R)
      const bt = new Float32Array(R * s.outF); // (R, out)
      for (let j = 0; j < r; j++) for (let i = 0; i < s.inF; i++) at[i * R + j] = A[j * s.inF + i]!;
      for (let o = 0; o < s.outF; o++) for (let j = 0; j < r; j++) bt[j * s.outF + o] = scale * B[o * r + j]!;
      mats.set(s.path, { a: at, b: bt });
      groups.add(s.group);
      bytes += at.byteLength + bt.byteLength;
    }
    return { rank: r, bucket: R, mats, groups, bytes };
  }

  /** Hold a prepared adapter in table row `row`. */
  attach(e: LoraEntry, row: number): void {
    this.entries[row] = e;
  }

  /** The entry in `row`, released from it (step buffers forget it). */
  detach(row: number): LoraEntry {
    const e = this.entries[row]!;
    this.release(row);
    return e;
  }

  release(row: number): void {
    const e = this.entries[row];
    if (!e) return;
    this.entries[row] = null;
    for (const st of this.stagers.values()) for (const g of st.values()) g.forget(e);
  }

  bytesOf(row: number): number {
    return this.entries[row]?.bytes ?? 0;
  }

  /** host memory held: the adapters plus every step buffer */
  get heldBytes(): number {
    let n = 0;
    for (const e of this.entries) n += e?.bytes ?? 0;
    for (const st of this.stagers.values()) for (const g of st.values()) n += g.bytes * this.copies;
    return n;
  }

  /**
   * Feeds for a step whose batch row b uses table row rows[b] (0 = none), staged in `purpose`'s buffers
   * (each session that steps keeps its own, so prefill does not displace the decode batch's rows).
   */
  feeds(rows: readonly number[], purpose: string): Record<string, HostTensor> {
    const out: Record<string, HostTensor> = {};
    if (this.capacity === 0) return out;
    let st = this.stagers.get(purpose);
    if (!st) this.stagers.set(purpose, (st = new Map()));
    for (const R of this.opts.buckets) {
      for (const [g, specs] of this.groupSpecs) {
        const batchRows: number[] = [];
        const entries: LoraEntry[] = [];
        rows.forEach((row, b) => {
          const e = row > 0 ? this.entries[row] : null;
          if (e && e.bucket === R && e.groups.has(g)) {
            batchRows.push(b);
            entries.push(e);
          }
        });
        const key = `${R}:${g}`;
        if (!entries.length) {
          Object.assign(out, this.zeroFeed(key, R, g, specs));
          continue;
        }
        let sg = st.get(key);
        if (!sg) st.set(key, (sg = new StagedGroup(R, specs, this.alloc)));
        sg.stage(entries);
        const L = entries.length;
        out[`lora${R}_rows:${g}`] = { dtype: "int64", shape: [L], data: BigInt64Array.from(batchRows, BigInt) };
        for (const s of specs) {
          const buf = sg.bufs.get(s.path)!;
          out[`lora${R}_a:${s.path}`] = { dtype: "float32", shape: [L, s.inF, R], data: buf.a.subarray(0, L * s.inF * R) };
          out[`lora${R}_b:${s.path}`] = { dtype: "float32", shape: [L, R, s.outF], data: buf.b.subarray(0, L * R * s.outF) };
        }
      }
    }
    return out;
  }

  /** no row of this (bucket, group): one zero row on batch row 0 adds exact zeros */
  private zeroFeed(key: string, R: number, g: string, specs: ModuleSpec[]): Record<string, HostTensor> {
    let f = this.zeroFeeds.get(key);
    if (!f) {
      f = { [`lora${R}_rows:${g}`]: { dtype: "int64", shape: [1], data: new BigInt64Array(1) } };
      for (const s of specs) {
        f[`lora${R}_a:${s.path}`] = { dtype: "float32", shape: [1, s.inF, R], data: new Float32Array(s.inF * R) };
        f[`lora${R}_b:${s.path}`] = { dtype: "float32", shape: [1, R, s.outF], data: new Float32Array(R * s.outF) };
      }
      this.zeroFeeds.set(key, f);
    }
    return f;
  }
}
