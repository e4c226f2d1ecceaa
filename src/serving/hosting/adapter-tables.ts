// Adapter tables: every hosted T-Few and LoRA adapter of one base lives in JS-owned tables that are
// graph inputs, so one compiled session serves them all and (de)activation is a row write. Row 0 is the
// base (IA3: ones; LoRA: none). IA3 vectors are gathered per batch row; LoRA runs only on the rows that
// use a LoRA adapter, in rank buckets with A and B staged per step (lora-tables.ts). Each kind's tables
// are one record (KIND_TABLES), keyed by PEFT type like the adapter kinds themselves.

import { type FloatAlloc, type Graph, type HostTensor, PLAIN_ALLOC, type Tensor, markWritten, op } from "../../engine/index.ts";
import { type Adapter, adaptedModules } from "../../adapters/index.ts";
import { ADAPTER_KINDS, type AdapterKindName, KIND_ORDER, type PeftType } from "../../adapters/index.ts";
import type { Ia3Config, LoraConfig, PeftConfig } from "../../adapters/index.ts";
import type { ModelConfig, ModelHooks } from "../../models/index.ts";
import { AdapterMismatchError } from "./errors.ts";
import { listProblems } from "../../errors/index.ts";
import { type LoraEntry, LoraTables } from "./lora-tables.ts";

export interface TableOptions {
  /** IA3 rows besides row 0; 0 = no IA3 path in the graph */
  maxIa3: number;
  ia3Targets: string[];
  ia3Feedforward: string[];
  /** LoRA rows besides row 0; 0 = no LoRA path in the graph */
  maxLora: number;
  /** LoRA rank buckets, ascending: an adapter is zero-padded to the first bucket ≥ its rank */
  loraBuckets: number[];
  loraTargets: string[];
}

export interface TableSlot {
  kind: AdapterKindName;
  row: number;
}

/** A batch row's table row per kind: 0 = none. */
export type RowAdapter = Record<AdapterKindName, number>;

/**
 * An adapter decoded into its kind's table form (IA3: one vector per table; LoRA: its bucket-padded Aᵀ and
 * scale·Bᵀ), so that taking a row is a copy (IA3) or a pointer (LoRA), and leaving one gives back exactly
 * what was written. What the host-memory tier holds of an adapter without a row (adapter-residency.ts).
 */
export interface PreparedAdapter {
  readonly kind: AdapterKindName;
  /** host bytes this form occupies (what the row holds once attached) */
  readonly bytes: number;
}

type ConfigOf<K extends PeftType> = Extract<PeftConfig, { peft_type: K }>;

/** One kind's tables: what the engine holds of every hosted adapter of the kind, and how a step uses it. */
interface KindTables<C extends PeftConfig = PeftConfig> {
  /** rows besides row 0; 0 when the kind has no table (no path in the graph) */
  readonly capacity: number;
  /** bytes the adapter in `row` occupies */
  bytesOf(row: number): number;
  /** bytes an adapter of `config` would occupy */
  bytesFor(config: C): number;
  /** bytes the largest adapter the tables take occupies */
  readonly maxRowBytes: number;
  /** bytes the tables hold now (rows written, step buffers); an upper bound for IA3 (untouched rows are not resident) */
  heldBytes(): number;
  /** which engine option sets the capacity (for the refusal when it is 0) */
  readonly capacityOption: string;
  /** declares the kind's graph inputs; returns module `path`'s projection given x and the projection so far */
  hook(graph: Graph): (path: string, x: Tensor, inner: (x: Tensor) => Tensor) => Tensor;
  /** per-step feeds (tables, indices) from each batch row's table row of this kind, for the session `purpose`. rows: (B) */
  stepFeeds(rows: readonly number[], purpose: string): Record<string, HostTensor>;
  /** why an adapter of `config` cannot be hosted in these tables (empty: it can) */
  problems(config: C): string[];
  /** the adapter in this kind's table form (it must pass `problems`) */
  prepare(adapter: Adapter, config: C): PreparedAdapter;
  /** put a prepared adapter into a free row */
  attach(p: PreparedAdapter, row: number): void;
  /** the prepared form of the adapter in `row`, exactly as attached; the row is released */
  detach(row: number): PreparedAdapter;
  release(row: number): void;
}

/** Each kind's tables, built from the engine's options. */
const KIND_TABLES: {
  readonly [K in PeftType]: (model: ModelConfig, opts: TableOptions, alloc: FloatAlloc, copies: number) => KindTables<ConfigOf<K>>;
} = {
  IA3: ia3Tables,
  LORA: loraTables,
};

/** An IA3 adapter's table form: one vector per IA3 table, in table order. */
interface Ia3Prepared extends PreparedAdapter {
  readonly vecs: readonly Float32Array[];
}

function ia3Tables(model: ModelConfig, opts: TableOptions, alloc: FloatAlloc, copies: number): KindTables<Ia3Config> {
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
          const data = alloc.tracked(rows * n); // (rows, n)
          data.fill(1, 0, n); // row 0: identity; other rows are written on activation (untouched pages stay unallocated)
          return { path: a.module.path, n, scalesInput: a.scalesInput, data };
        });
  const byPath = new Map(tables.map((t) => [t.path, t]));
  const rowBytes = tables.reduce((s, t) => s + t.n * 4, 0);
  const feeds: Record<string, HostTensor> = Object.fromEntries(
    tables.map((t) => [`ia3:${t.path}`, { dtype: "float32", shape: [rows, t.n], data: t.data }]),
  );
  return {
    capacity: tables.length ? opts.maxIa3 : 0,
    bytesOf: () => rowBytes,
    bytesFor: () => rowBytes,
    maxRowBytes: rowBytes,
    heldBytes: () => rowBytes * rows * copies,
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
    stepFeeds: (r) => ({ ...feeds, ia3_index: { dtype: "int64", shape: [r.length], data: BigInt64Array.from(r, BigInt) } }),
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
    prepare(adapter, c) {
      const keys = new Map(adaptedModules(model, c).map((a) => [a.module.path, a.tensors[0]!.key]));
      // a module this adapter leaves alone gets ones
      const vecs = tables.map((t) => {
        const key = keys.get(t.path);
        return key ? adapter.tensors.get(key)!.data : new Float32Array(t.n).fill(1);
      });
      return { kind: "ia3", bytes: rowBytes, vecs } satisfies Ia3Prepared;
    },
    attach(p, row) {
      const { vecs } = p as Ia3Prepared;
      tables.forEach((t, i) => {
        t.data.set(vecs[i]!, row * t.n);
        markWritten(t.data, row * t.n, t.n);
      });
    },
    detach(row) {
      const vecs = tables.map((t) => t.data.slice(row * t.n, (row + 1) * t.n));
      return { kind: "ia3", bytes: rowBytes, vecs } satisfies Ia3Prepared;
    },
    release: () => undefined,
  };
}

function loraTables(model: ModelConfig, opts: TableOptions, alloc: FloatAlloc, copies: number): KindTables<LoraConfig> {
  const t = new LoraTables(model, { maxLora: opts.maxLora, buckets: opts.loraBuckets, targets: opts.loraTargets }, alloc, copies);
  return {
    capacity: t.capacity,
    bytesOf: (row) => t.bytesOf(row),
    bytesFor: (c) => t.bytesFor(model, c),
    maxRowBytes: t.bytesAt(t.maxRank),
    heldBytes: () => t.heldBytes,
    capacityOption: "lora.maxAdapters",
    hook: (graph) => t.hook(graph),
    stepFeeds: (rows, purpose) => t.feeds(rows, purpose),
    problems: (c) => t.problems(model, c),
    prepare: (adapter, c) => ({ kind: "lora", ...t.prepare(model, adapter, c) }),
    attach: (p, row) => t.attach(p as PreparedAdapter & LoraEntry, row),
    detach: (row) => ({ kind: "lora", ...t.detach(row) }),
    release: (row) => t.release(row),
  };
}

export class AdapterTables {
  private readonly kinds: { readonly [K in PeftType]: KindTables<ConfigOf<K>> };
  private readonly free: Record<AdapterKindName, number[]>;

  constructor(
    model: ModelConfig,
    readonly opts: TableOptions,
    /** the tables' allocation: shared and tracked when a worker-thread session reads them (it mirrors them) */
    alloc: FloatAlloc = PLAIN_ALLOC,
    /** copies of the tables in memory (2 with the worker's mirror), counted in `heldBytes` */
    copies = 1,
  ) {
    this.kinds = { IA3: KIND_TABLES.IA3(model, opts, alloc, copies), LORA: KIND_TABLES.LORA(model, opts, alloc, copies) };
    const free = (t: KindTables) => Array.from({ length: t.capacity }, (_, i) => t.capacity - i);
    this.free = { ia3: free(this.kinds.IA3), lora: free(this.kinds.LORA) };
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

  /** bytes the largest adapter of the kind occupies (IA3: every row; LoRA: the top rank bucket on every table module) */
  maxRowBytes(kind: AdapterKindName): number {
    return this.byName(kind).maxRowBytes;
  }

  /** bytes the adapter in `slot` occupies */
  slotBytes(slot: TableSlot): number {
    return this.byName(slot.kind).bytesOf(slot.row);
  }

  /** bytes the kind's tables hold (see KindTables.heldBytes) */
  heldBytes(kind: AdapterKindName): number {
    return this.byName(kind).heldBytes();
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
    const problems = this.configProblems(adapter.config);
    if (problems.length === 1 && problems[0]!.startsWith("this engine hosts no")) throw new AdapterMismatchError(problems[0]!);
    if (problems.length) throw new AdapterMismatchError(listProblems("adapter cannot be hosted by this engine:", problems, 8));
  }

  /** Why an adapter of this config can never be held in these tables (empty: it can). */
  configProblems(c: PeftConfig): string[] {
    const kind = ADAPTER_KINDS[c.peft_type];
    const tables = this.of(c);
    if (tables.capacity === 0) return [`this engine hosts no ${kind.label} adapters (${c.peft_type}: ${tables.capacityOption} is 0)`];
    return tables.problems(c);
  }

  /** bytes an adapter of this (holdable) config would occupy */
  bytesFor(c: PeftConfig): number {
    return this.of(c).bytesFor(c);
  }

  /** The adapter checked (AdapterMismatchError) and decoded into its table form, holding no row yet. */
  prepare(adapter: Adapter): PreparedAdapter {
    this.check(adapter);
    return this.of(adapter.config).prepare(adapter, adapter.config);
  }

  /** Put a prepared adapter into a free row of its kind; null when every row is taken. */
  attach(p: PreparedAdapter): TableSlot | null {
    const row = this.free[p.kind].pop();
    if (row === undefined) return null;
    this.byName(p.kind).attach(p, row);
    return { kind: p.kind, row };
  }

  /** Take the adapter out of its row (only once no running request uses it): its prepared form, exactly as attached. */
  detach(slot: TableSlot): PreparedAdapter {
    const p = this.byName(slot.kind).detach(slot.row);
    this.free[slot.kind].push(slot.row);
    return p;
  }

  /** Return a row to the free list; only once no running request uses it. */
  release(slot: TableSlot): void {
    if (slot.row <= 0) return;
    this.byName(slot.kind).release(slot.row);
    this.free[slot.kind].push(slot.row);
  }

  /**
   * Feeds for a step over these rows in the session step `purpose` ("prefill", "decode", "embed": each keeps
   * its own LoRA step buffers): each kind's tables and index inputs (zero-copy).
   */
  feeds(rows: readonly RowAdapter[], purpose: string): Record<string, HostTensor> {
    const out: Record<string, HostTensor> = {};
    for (const k of KIND_ORDER) {
      const t = this.kinds[k];
      const name = ADAPTER_KINDS[k].name;
      if (t.capacity > 0)
        Object.assign(
          out,
          t.stepFeeds(
            rows.map((r) => r[name]),
            purpose,
          ),
        );
    }
    return out;
  }
}
