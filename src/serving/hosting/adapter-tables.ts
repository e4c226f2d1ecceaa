// Adapter tables: every hosted T-Few and LoRA adapter of one base lives in JS-owned tables that are
// graph inputs, so one compiled session serves them all and (de)activation is a row write. Row 0 is the
// base (IA3: ones; LoRA: zeros). IA3 vectors are gathered per batch row; LoRA runs only on the rows
// that use a LoRA adapter, with A and B gathered per row (zero-padded to one max rank). Each kind's
// tables are one record (KIND_TABLES), keyed by PEFT type like the adapter kinds themselves.

import { type Graph, type HostTensor, type Tensor, op } from "../../engine/index.ts";
import { type Adapter, adaptedModules } from "../../adapters/index.ts";
import { ADAPTER_KINDS, type AdapterKindName, KIND_ORDER, type PeftType } from "../../adapters/index.ts";
import { loraScale } from "../../adapters/index.ts";
import type { Ia3Config, LoraConfig, PeftConfig } from "../../adapters/index.ts";
import type { ModelConfig, ModelHooks } from "../../models/index.ts";
import { AdapterMismatchError, OverCapacityError } from "./errors.ts";
import { listProblems } from "../../errors/index.ts";

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

export interface TableSlot {
  kind: AdapterKindName;
  row: number;
}

/** A batch row's table row per kind: 0 = none. */
export type RowAdapter = Record<AdapterKindName, number>;

type ConfigOf<K extends PeftType> = Extract<PeftConfig, { peft_type: K }>;

/** One kind's tables: what the engine holds of every hosted adapter of the kind, and how a step uses it. */
interface KindTables<C extends PeftConfig = PeftConfig> {
  /** rows besides row 0; 0 when the kind has no table (no path in the graph) */
  readonly capacity: number;
  /** bytes one adapter occupies */
  readonly rowBytes: number;
  /** the tables as zero-copy feeds */
  readonly feeds: Record<string, HostTensor>;
  /** which engine option sets the capacity (for the refusal when it is 0) */
  readonly capacityOption: string;
  /** declares the kind's graph inputs; returns module `path`'s projection given x and the projection so far */
  hook(graph: Graph): (path: string, x: Tensor, inner: (x: Tensor) => Tensor) => Tensor;
  /** per-step index feeds from each batch row's table row of this kind. rows: (B) */
  indexFeeds(rows: readonly number[]): Record<string, HostTensor>;
  /** why an adapter of `config` cannot be hosted in these tables (empty: it can) */
  problems(config: C): string[];
  write(adapter: Adapter, config: C, row: number): void;
}

/** Each kind's tables, built from the engine's options. */
const KIND_TABLES: { readonly [K in PeftType]: (model: ModelConfig, opts: TableOptions) => KindTables<ConfigOf<K>> } = {
  IA3: ia3Tables,
  LORA: loraTables,
};

function ia3Tables(model: ModelConfig, opts: TableOptions): KindTables<Ia3Config> {
  const cfg: Ia3Config = {
    peft_type: "IA3",
    target_modules: opts.ia3Targets,
    feedforward_modules: opts.ia3Feedforward,
    fan_in_fan_out: false,
  };
  const rows = opts.maxIa3 + 1;
  const tables =
    opts.maxIa3 === 0
      ? []
      : adaptedModules(model, cfg).map((a) => {
          const n = a.scalesInput ? a.module.inFeatures : a.module.outFeatures;
          const data = new Float32Array(rows * n); // (rows, n)
          data.fill(1, 0, n); // row 0: identity; other rows are written on activation (untouched pages stay unallocated)
          return { path: a.module.path, n, scalesInput: a.scalesInput, data };
        });
  const byPath = new Map(tables.map((t) => [t.path, t]));
  return {
    capacity: tables.length ? opts.maxIa3 : 0,
    rowBytes: tables.reduce((s, t) => s + t.n * 4, 0),
    feeds: Object.fromEntries(tables.map((t) => [`ia3:${t.path}`, { dtype: "float32", shape: [rows, t.n], data: t.data }])),
    capacityOption: "maxAdapters",
    // gather each row's vector by `ia3_index` (B) and multiply
    hook(graph) {
      const index = graph.input("ia3_index", "int64", ["B"]);
      return (path, x, inner) => {
        const t = byPath.get(path);
        if (!t) return inner(x);
        const vec = op.unsqueeze(op.gather(graph.input(`ia3:${path}`, "float32", ["NA", t.n]), index, 0), [1]); // (B, 1, n)
        return t.scalesInput ? inner(op.mul(x, vec)) : op.mul(inner(x), vec); // (B, T, out)
      };
    },
    indexFeeds: (r) => ({ ia3_index: { dtype: "int64", shape: [r.length], data: BigInt64Array.from(r, BigInt) } }),
    problems(c) {
      const out: string[] = [];
      for (const a of adaptedModules(model, c)) {
        const t = byPath.get(a.module.path);
        if (!t) out.push(`${a.module.path} is not an IA3 target of this engine (targets: ${opts.ia3Targets.join(", ")})`);
        else if (t.scalesInput !== a.scalesInput)
          out.push(
            `${a.module.path}: the adapter scales its ${a.scalesInput ? "input" : "output"}, this engine its ${t.scalesInput ? "input" : "output"}`,
          );
      }
      return out;
    },
    write(adapter, c, row) {
      const keys = new Map(adaptedModules(model, c).map((a) => [a.module.path, a.tensors[0]!.key]));
      for (const t of tables) {
        const key = keys.get(t.path);
        const dst = t.data.subarray(row * t.n, (row + 1) * t.n);
        if (key) dst.set(adapter.tensors.get(key)!.data);
        else dst.fill(1); // a module this adapter leaves alone
      }
    },
  };
}

function loraTables(model: ModelConfig, opts: TableOptions): KindTables<LoraConfig> {
  const R = opts.loraRank;
  const cfg: LoraConfig = {
    peft_type: "LORA",
    target_modules: opts.loraTargets,
    r: R,
    lora_alpha: R,
    lora_dropout: 0,
    fan_in_fan_out: false,
    bias: "none",
    use_rslora: false,
    use_dora: false,
  };
  const rows = opts.maxLora + 1;
  const tables =
    opts.maxLora === 0
      ? []
      : adaptedModules(model, cfg).map((a) => ({
          path: a.module.path,
          inF: a.module.inFeatures,
          outF: a.module.outFeatures,
          a: new Float32Array(rows * a.module.inFeatures * R), // Aᵀ per row. (rows, in, R)
          b: new Float32Array(rows * R * a.module.outFeatures), // scale · Bᵀ per row. (rows, R, out)
        }));
  const byPath = new Map(tables.map((t) => [t.path, t]));
  const feeds: Record<string, HostTensor> = {};
  for (const t of tables) {
    feeds[`lora_a:${t.path}`] = { dtype: "float32", shape: [rows, t.inF, R], data: t.a };
    feeds[`lora_b:${t.path}`] = { dtype: "float32", shape: [rows, R, t.outF], data: t.b };
  }
  return {
    capacity: tables.length ? opts.maxLora : 0,
    rowBytes: tables.reduce((s, t) => s + (t.inF + t.outF) * R * 4, 0),
    feeds,
    capacityOption: "lora.maxAdapters",
    // gather the LoRA rows' inputs by `lora_rows` (L) and their A, B by `lora_slots` (L), add x·Aᵀ·Bᵀ back
    hook(graph) {
      const loraRows = graph.input("lora_rows", "int64", ["L"]);
      const loraSlots = graph.input("lora_slots", "int64", ["L"]);
      return (path, x, inner) => {
        const y = inner(x);
        const t = byPath.get(path);
        if (!t) return y;
        const at = op.gather(graph.input(`lora_a:${path}`, "float32", ["NL", t.inF, R]), loraSlots, 0); // (L, in, R)
        const bt = op.gather(graph.input(`lora_b:${path}`, "float32", ["NL", R, t.outF]), loraSlots, 0); // (L, R, out)
        const xs = op.gather(x, loraRows, 0); // (L, T, in)
        const delta = op.matmul(op.matmul(xs, at), bt); // (L, T, out)
        return op.scatterNDAdd(y, op.unsqueeze(loraRows, [1]), delta); // (B, T, out)
      };
    },
    indexFeeds(r) {
      const idx = r.flatMap((row, b) => (row > 0 ? [b] : []));
      // no LoRA row: one dummy row (batch row 0, table row 0 = zeros) keeps every shape non-empty
      const at = idx.length ? idx : [0];
      return {
        lora_rows: { dtype: "int64", shape: [at.length], data: BigInt64Array.from(at, BigInt) },
        lora_slots: { dtype: "int64", shape: [at.length], data: BigInt64Array.from(at, (b) => BigInt(idx.length ? r[b]! : 0)) },
      };
    },
    problems(c) {
      const out: string[] = [];
      if (c.r > R) out.push(`rank ${c.r} exceeds this engine's LoRA rank ${R}`);
      if (c.use_dora) out.push("DoRA adapters are not supported");
      if (c.bias !== "none") out.push(`bias "${c.bias}" is not supported (only "none")`);
      for (const a of adaptedModules(model, c)) {
        if (!byPath.has(a.module.path))
          out.push(`${a.module.path} is not a LoRA target of this engine (targets: ${opts.loraTargets.join(", ")})`);
      }
      return out;
    },
    write(adapter, c, row) {
      const r = c.r;
      const scale = loraScale(c);
      const keys = new Map(adaptedModules(model, c).map((a) => [a.module.path, a.tensors]));
      for (const t of tables) {
        const at = t.a.subarray(row * t.inF * R, (row + 1) * t.inF * R).fill(0); // (in, R)
        const bt = t.b.subarray(row * R * t.outF, (row + 1) * R * t.outF).fill(0); // (R, out)
        const k = keys.get(t.path);
        if (!k) continue; // zero rows: no change to this module
        const A = adapter.tensors.get(k[0]!.key)!.data; // (r, in)
        const B = adapter.tensors.get(k[1]!.key)!.data; // (out, r)
        for (let j = 0; j < r; j++) for (let i = 0; i < t.inF; i++) at[i * R + j] = A[j * t.inF + i]!;
        for (let o = 0; o < t.outF; o++) for (let j = 0; j < r; j++) bt[j * t.outF + o] = scale * B[o * r + j]!;
      }
    },
  };
}

export class AdapterTables {
  private readonly kinds: { readonly [K in PeftType]: KindTables<ConfigOf<K>> };
  private readonly free: Record<AdapterKindName, number[]>;
  private readonly tableFeeds: Record<string, HostTensor>;

  constructor(
    model: ModelConfig,
    readonly opts: TableOptions,
  ) {
    this.kinds = { IA3: KIND_TABLES.IA3(model, opts), LORA: KIND_TABLES.LORA(model, opts) };
    const free = (t: KindTables) => Array.from({ length: t.capacity }, (_, i) => t.capacity - i);
    this.free = { ia3: free(this.kinds.IA3), lora: free(this.kinds.LORA) };
    this.tableFeeds = Object.assign({}, ...KIND_ORDER.map((k) => this.kinds[k].feeds));
  }

  /** The tables of the kind named `name` ("ia3", "lora"). */
  private byName(name: AdapterKindName): KindTables {
    const k = KIND_ORDER.find((p) => ADAPTER_KINDS[p].name === name)!;
    return this.kinds[k] as KindTables;
  }

  /** The tables of `config`'s kind, typed for it. */
  private of<C extends PeftConfig>(config: C): KindTables<C> {
    // as in adapterKind: the mapped type keys each kind's tables by its config type
    return this.kinds[config.peft_type] as unknown as KindTables<C>;
  }

  /** bytes one IA3 adapter occupies in the tables */
  get ia3RowBytes(): number {
    return this.kinds.IA3.rowBytes;
  }

  /** bytes one LoRA adapter occupies (at the padded rank) */
  get loraRowBytes(): number {
    return this.kinds.LORA.rowBytes;
  }

  rowBytes(kind: AdapterKindName): number {
    return this.byName(kind).rowBytes;
  }

  /** rows in use (excluding row 0) and capacity, per kind */
  usage(kind: AdapterKindName): { used: number; capacity: number } {
    const capacity = this.byName(kind).capacity;
    return { used: capacity - this.free[kind].length, capacity };
  }

  /** Graph hooks: each kind with tables wraps the projection, IA3 inside LoRA (KIND_ORDER). */
  hooks(graph: Graph): ModelHooks {
    const wraps = KIND_ORDER.filter((k) => this.kinds[k].capacity > 0).map((k) => this.kinds[k].hook(graph));
    return {
      projection: ({ path, x, base }) => wraps.reduce<(x: Tensor) => Tensor>((inner, wrap) => (input) => wrap(path, input, inner), base)(x),
    };
  }

  /** Throws AdapterMismatchError unless every module the adapter changes has a table of the same kind. */
  check(adapter: Adapter): void {
    const c = adapter.config;
    const kind = ADAPTER_KINDS[c.peft_type];
    const tables = this.of(c);
    if (tables.capacity === 0)
      throw new AdapterMismatchError(`this engine hosts no ${kind.label} adapters (${c.peft_type}: ${tables.capacityOption} is 0)`);
    const problems = tables.problems(c);
    if (problems.length) throw new AdapterMismatchError(listProblems("adapter cannot be hosted by this engine:", problems, 8));
  }

  /** Write a checked adapter into a free row. */
  write(adapter: Adapter): TableSlot {
    this.check(adapter);
    const c = adapter.config;
    const kind = ADAPTER_KINDS[c.peft_type];
    const row = this.free[kind.name].pop();
    if (row === undefined) {
      throw new OverCapacityError(
        `all ${this.of(c).capacity} ${kind.label} adapter rows are in use: deactivate one first, or create the engine with more`,
        409,
        "too_many_adapters",
      );
    }
    this.of(c).write(adapter, c, row);
    return { kind: kind.name, row };
  }

  /** Return a row to the free list; only once no running request uses it. */
  release(slot: TableSlot): void {
    if (slot.row > 0) this.free[slot.kind].push(slot.row);
  }

  /** Feeds for a step over these rows: each kind's index inputs plus every table (zero-copy). */
  feeds(rows: readonly RowAdapter[]): Record<string, HostTensor> {
    const out: Record<string, HostTensor> = { ...this.tableFeeds };
    for (const k of KIND_ORDER) {
      const t = this.kinds[k];
      const name = ADAPTER_KINDS[k].name;
      if (t.capacity > 0) Object.assign(out, t.indexFeeds(rows.map((r) => r[name])));
    }
    return out;
  }
}
