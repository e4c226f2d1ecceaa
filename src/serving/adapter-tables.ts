// Adapter tables: every hosted T-Few and LoRA adapter of one base lives in JS-owned tables that are
// graph inputs, so one compiled session serves them all and (de)activation is a row write. Row 0 is the
// base (IA3: ones; LoRA: zeros). IA3 vectors are gathered per batch row; LoRA runs only on the rows
// that use a LoRA adapter, with A and B gathered per row (zero-padded to one max rank).

import { type Graph, type HostTensor, type Tensor, op } from "../engine/index.ts";
import { type Adapter, adaptedModules } from "../adapters/adapter.ts";
import { loraScale } from "../adapters/lora.ts";
import type { Ia3Config, PeftConfig } from "../adapters/peft-config.ts";
import type { ModelConfig, ModelHooks } from "../models/index.ts";
import { AdapterMismatchError, OverCapacityError } from "./errors.ts";

export interface TableOptions {
  /** IA3 rows besides row 0; 0 = no IA3 path in the graph */
  maxIa3: number;
  ia3Targets: string[];
  ia3Feedforward: string[];
  /** LoRA rows besides row 0; 0 = no LoRA path in the graph */
  maxLora: number;
  /** every LoRA adapter is zero-padded to this rank */
  loraRank: number;
  loraTargets: string[];
}

interface Ia3Table {
  path: string;
  n: number;
  scalesInput: boolean;
  /** (rows, n) */
  data: Float32Array;
}

interface LoraTable {
  path: string;
  inF: number;
  outF: number;
  /** Aᵀ per row. (rows, in, R) */
  a: Float32Array;
  /** scale · Bᵀ per row. (rows, R, out) */
  b: Float32Array;
}

export interface TableSlot {
  kind: "ia3" | "lora";
  row: number;
}

/** A batch row's table rows: 0 = none. */
export interface RowAdapter {
  ia3: number;
  lora: number;
}

export class AdapterTables {
  readonly ia3: Ia3Table[];
  readonly lora: LoraTable[];
  private readonly ia3ByPath: Map<string, Ia3Table>;
  private readonly loraByPath: Map<string, LoraTable>;
  private readonly free: Record<TableSlot["kind"], number[]>;
  private readonly tableFeeds: Record<string, HostTensor> = {};

  constructor(
    private readonly model: ModelConfig,
    readonly opts: TableOptions,
  ) {
    const ia3Cfg: Ia3Config = { peft_type: "IA3", target_modules: opts.ia3Targets, feedforward_modules: opts.ia3Feedforward, fan_in_fan_out: false };
    const nIa3 = opts.maxIa3 + 1;
    this.ia3 = opts.maxIa3 === 0 ? [] : adaptedModules(model, ia3Cfg).map((a) => {
      const n = a.scalesInput ? a.module.inFeatures : a.module.outFeatures;
      const data = new Float32Array(nIa3 * n);
      data.fill(1, 0, n); // row 0: identity; other rows are written on activation (untouched pages stay unallocated)
      return { path: a.module.path, n, scalesInput: a.scalesInput, data };
    });
    const R = opts.loraRank;
    const nLora = opts.maxLora + 1;
    const loraCfg: PeftConfig = { peft_type: "LORA", target_modules: opts.loraTargets, r: R, lora_alpha: R, lora_dropout: 0, fan_in_fan_out: false, bias: "none", use_rslora: false, use_dora: false };
    this.lora = opts.maxLora === 0 ? [] : adaptedModules(model, loraCfg).map((a) => ({
      path: a.module.path,
      inF: a.module.inFeatures,
      outF: a.module.outFeatures,
      a: new Float32Array(nLora * a.module.inFeatures * R),
      b: new Float32Array(nLora * R * a.module.outFeatures),
    }));
    this.ia3ByPath = new Map(this.ia3.map((t) => [t.path, t]));
    this.loraByPath = new Map(this.lora.map((t) => [t.path, t]));
    this.free = {
      ia3: Array.from({ length: this.ia3.length ? opts.maxIa3 : 0 }, (_, i) => opts.maxIa3 - i),
      lora: Array.from({ length: this.lora.length ? opts.maxLora : 0 }, (_, i) => opts.maxLora - i),
    };
    for (const t of this.ia3) this.tableFeeds[`ia3:${t.path}`] = { dtype: "float32", shape: [nIa3, t.n], data: t.data };
    for (const t of this.lora) {
      this.tableFeeds[`lora_a:${t.path}`] = { dtype: "float32", shape: [nLora, t.inF, R], data: t.a };
      this.tableFeeds[`lora_b:${t.path}`] = { dtype: "float32", shape: [nLora, R, t.outF], data: t.b };
    }
  }

  /** bytes one IA3 adapter occupies in the tables */
  get ia3RowBytes(): number {
    return this.ia3.reduce((s, t) => s + t.n * 4, 0);
  }

  /** bytes one LoRA adapter occupies (at the padded rank) */
  get loraRowBytes(): number {
    return this.lora.reduce((s, t) => s + (t.inF + t.outF) * this.opts.loraRank * 4, 0);
  }

  rowBytes(kind: TableSlot["kind"]): number {
    return kind === "ia3" ? this.ia3RowBytes : this.loraRowBytes;
  }

  /** rows in use (excluding row 0) and capacity, per kind */
  usage(kind: TableSlot["kind"]): { used: number; capacity: number } {
    const capacity = kind === "ia3" ? (this.ia3.length ? this.opts.maxIa3 : 0) : this.lora.length ? this.opts.maxLora : 0;
    return { used: capacity - this.free[kind].length, capacity };
  }

  /**
   * Graph hooks: IA3 — gather each row's vector by `ia3_index` (B) and multiply; LoRA — gather the LoRA
   * rows' inputs by `lora_rows` (L) and their A, B by `lora_slots` (L), and add x·Aᵀ·Bᵀ back into them.
   */
  hooks(graph: Graph): ModelHooks {
    const ia3Index = this.ia3.length ? graph.input("ia3_index", "int64", ["B"]) : null;
    const loraRows = this.lora.length ? graph.input("lora_rows", "int64", ["L"]) : null;
    const loraSlots = this.lora.length ? graph.input("lora_slots", "int64", ["L"]) : null;
    const R = this.opts.loraRank;
    return {
      projection: ({ path, x, base }) => {
        const ia = this.ia3ByPath.get(path);
        let y: Tensor;
        if (ia) {
          const table = graph.input(`ia3:${path}`, "float32", ["NA", ia.n]);
          const vec = op.unsqueeze(op.gather(table, ia3Index!, 0), [1]); // (B, 1, n)
          y = ia.scalesInput ? base(op.mul(x, vec)) : op.mul(base(x), vec); // (B, T, out)
        } else y = base(x);
        const lo = this.loraByPath.get(path);
        if (!lo) return y;
        const at = op.gather(graph.input(`lora_a:${path}`, "float32", ["NL", lo.inF, R]), loraSlots!, 0); // (L, in, R)
        const bt = op.gather(graph.input(`lora_b:${path}`, "float32", ["NL", R, lo.outF]), loraSlots!, 0); // (L, R, out)
        const xs = op.gather(x, loraRows!, 0); // (L, T, in)
        const delta = op.matmul(op.matmul(xs, at), bt); // (L, T, out)
        return op.scatterNDAdd(y, op.unsqueeze(loraRows!, [1]), delta); // (B, T, out)
      },
    };
  }

  /** Throws AdapterMismatchError unless every module the adapter changes has a table of the same kind. */
  check(adapter: Adapter): void {
    const c = adapter.config;
    const problems: string[] = [];
    if (c.peft_type === "IA3") {
      if (!this.ia3.length) throw new AdapterMismatchError("this engine hosts no T-Few (IA3) adapters (maxAdapters is 0)");
      for (const a of adaptedModules(this.model, c)) {
        const t = this.ia3ByPath.get(a.module.path);
        if (!t) problems.push(`${a.module.path} is not an IA3 target of this engine (targets: ${this.opts.ia3Targets.join(", ")})`);
        else if (t.scalesInput !== a.scalesInput) problems.push(`${a.module.path}: the adapter scales its ${a.scalesInput ? "input" : "output"}, this engine its ${t.scalesInput ? "input" : "output"}`);
      }
    } else {
      if (!this.lora.length) throw new AdapterMismatchError("this engine hosts no LoRA adapters (lora.maxAdapters is 0)");
      if (c.r > this.opts.loraRank) problems.push(`rank ${c.r} exceeds this engine's LoRA rank ${this.opts.loraRank}`);
      if (c.use_dora) problems.push("DoRA adapters are not supported");
      if (c.bias !== "none") problems.push(`bias "${c.bias}" is not supported (only "none")`);
      for (const a of adaptedModules(this.model, c)) {
        if (!this.loraByPath.has(a.module.path)) problems.push(`${a.module.path} is not a LoRA target of this engine (targets: ${this.opts.loraTargets.join(", ")})`);
      }
    }
    if (problems.length) throw new AdapterMismatchError(`adapter cannot be hosted by this engine:\n  ${problems.slice(0, 8).join("\n  ")}${problems.length > 8 ? `\n  … ${problems.length - 8} more` : ""}`);
  }

  /** Write a checked adapter into a free row. */
  write(adapter: Adapter): TableSlot {
    this.check(adapter);
    const kind = adapter.config.peft_type === "IA3" ? "ia3" : "lora";
    const row = this.free[kind].pop();
    if (row === undefined) {
      const max = kind === "ia3" ? this.opts.maxIa3 : this.opts.maxLora;
      throw new OverCapacityError(`all ${max} ${kind === "ia3" ? "T-Few" : "LoRA"} adapter rows are in use: deactivate one first, or create the engine with more`, 409, "too_many_adapters");
    }
    if (kind === "ia3") this.writeIa3(adapter, row);
    else this.writeLora(adapter, row);
    return { kind, row };
  }

  /** Return a row to the free list; only once no running request uses it. */
  release(slot: TableSlot): void {
    if (slot.row > 0) this.free[slot.kind].push(slot.row);
  }

  /** Feeds for a step over these rows: the index inputs plus every table (zero-copy). */
  feeds(rows: readonly RowAdapter[]): Record<string, HostTensor> {
    const out: Record<string, HostTensor> = { ...this.tableFeeds };
    if (this.ia3.length) out.ia3_index = { dtype: "int64", shape: [rows.length], data: BigInt64Array.from(rows, (r) => BigInt(r.ia3)) };
    if (this.lora.length) {
      const idx = rows.flatMap((r, b) => (r.lora > 0 ? [b] : []));
      // no LoRA row: one dummy row (batch row 0, table row 0 = zeros) keeps every shape non-empty
      const at = idx.length ? idx : [0];
      out.lora_rows = { dtype: "int64", shape: [at.length], data: BigInt64Array.from(at, BigInt) };
      out.lora_slots = { dtype: "int64", shape: [at.length], data: BigInt64Array.from(at, (b) => BigInt(idx.length ? rows[b]!.lora : 0)) };
    }
    return out;
  }

  private writeIa3(adapter: Adapter, row: number): void {
    const byPath = new Map(adaptedModules(this.model, adapter.config).map((a) => [a.module.path, a.tensors[0]!.key]));
    for (const t of this.ia3) {
      const key = byPath.get(t.path);
      const dst = t.data.subarray(row * t.n, (row + 1) * t.n);
      if (key) dst.set(adapter.tensors.get(key)!.data);
      else dst.fill(1); // a module this adapter leaves alone
    }
  }

  private writeLora(adapter: Adapter, row: number): void {
    const c = adapter.config;
    if (c.peft_type !== "LORA") return;
    const R = this.opts.loraRank;
    const r = c.r;
    const scale = loraScale(c);
    const byPath = new Map(adaptedModules(this.model, c).map((a) => [a.module.path, a.tensors]));
    for (const t of this.lora) {
      const at = t.a.subarray(row * t.inF * R, (row + 1) * t.inF * R).fill(0); // (in, R)
      const bt = t.b.subarray(row * R * t.outF, (row + 1) * R * t.outF).fill(0); // (R, out)
      const keys = byPath.get(t.path);
      if (!keys) continue; // zero rows: no change to this module
      const A = adapter.tensors.get(keys[0]!.key)!.data; // (r, in)
      const B = adapter.tensors.get(keys[1]!.key)!.data; // (out, r)
      for (let k = 0; k < r; k++) for (let i = 0; i < t.inF; i++) at[i * R + k] = A[k * t.inF + i]!;
      for (let o = 0; o < t.outF; o++) for (let k = 0; k < r; k++) bt[k * t.outF + o] = scale * B[o * r + k]!;
    }
  }
}
