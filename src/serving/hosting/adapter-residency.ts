// Adapter tiers: more adapters active than table rows. Each active adapter is hot (a table row), in host
// memory (decoded into its table form, no row) or on disk (its PEFT directory only), and moves between
// them by recency: a request takes a row at admission — evicting the least recently used idle, unpinned
// hot adapter to host memory — and host memory beyond its byte budget drops the least recently used to disk.
// A row used by the running batch (or an embedding) is never taken; a pinned adapter keeps its row.

import type { Adapter, AdapterKindName } from "../../adapters/index.ts";
import type { AdapterTables, PreparedAdapter, TableSlot } from "./adapter-tables.ts";
import { HostingError, OverCapacityError } from "./errors.ts";

export type Tier = "hot" | "host" | "disk";

export interface TierStats {
  /** adapters per tier (hot: with a table row; host: decoded in host memory; disk: only their directory) */
  hot: number;
  host: number;
  disk: number;
  pinned: number;
  /** bytes of the host tier, and its budget (`adapterHostBytes`) */
  hostBytes: number;
  hostBudgetBytes: number;
  /** adapters read back from disk; moves into a row; rows taken from an idle adapter; host → disk drops */
  loads: number;
  promotions: number;
  evictions: { hot: number; host: number };
}

/** One active adapter's place in the tiers. */
export class ResidentAdapter {
  tier: Tier = "host";
  slot: TableSlot | null = null;
  /** the decoded form while in host memory (null when hot or on disk) */
  prepared: PreparedAdapter | null = null;
  /** recency: the residency's clock at its last request */
  lastUsed = 0;

  constructor(
    readonly name: string,
    readonly kind: AdapterKindName,
    /** host bytes of its decoded form (what a row or the host tier holds of it) */
    readonly bytes: number,
    /** where it is re-read from after a drop to disk; null for an in-memory adapter (it never goes to disk) */
    readonly dir: string | null,
    readonly pinned: boolean,
    /** whether a running, pending or embedding row uses it (then its row cannot be taken) */
    readonly busy: () => boolean,
  ) {}
}

export class Residency {
  private readonly all = new Set<ResidentAdapter>();
  private clock = 0;
  private hostBytes = 0;
  private readonly counters = { loads: 0, promotions: 0, evictions: { hot: 0, host: 0 } };

  constructor(
    private readonly tables: AdapterTables,
    private readonly hostBudget: number,
    /** reads and checks an adapter directory again (synchronously, like activation) */
    private readonly read: (dir: string) => Adapter,
  ) {}

  /**
   * Register a checked adapter: it takes a free row if there is one (a pinned one also takes the row of an
   * idle unpinned adapter), else it waits in host memory. More pinned adapters of a kind than rows: 409.
   */
  add(name: string, adapter: Adapter, dir: string | null, pinned: boolean, busy: () => boolean): ResidentAdapter {
    const p = this.tables.prepare(adapter);
    const why = this.pinProblem(p.kind, pinned);
    if (why) throw new OverCapacityError(why, 409, "too_many_adapters");
    const e = new ResidentAdapter(name, p.kind, p.bytes, dir, pinned, busy);
    e.lastUsed = ++this.clock;
    this.all.add(e);
    const slot = this.tables.attach(p) ?? (pinned && this.evictHot(p.kind) ? this.tables.attach(p) : null);
    if (slot) this.makeHot(e, slot);
    else this.toHost(e, p);
    return e;
  }

  /**
   * Pinned adapters may take every row of their kind only while no unpinned one is active (which could
   * then never get a row): why adding one (pinned or not) would break that, or null.
   */
  private pinProblem(kind: AdapterKindName, pinned: boolean): string | null {
    const { capacity } = this.tables.usage(kind);
    const mine = [...this.all].filter((e) => e.kind === kind);
    const pins = mine.filter((e) => e.pinned).length + (pinned ? 1 : 0);
    const others = mine.length + 1 - pins;
    const label = kind === "ia3" ? "T-Few" : "LoRA";
    if (pins > capacity) return `all ${capacity} ${label} table rows are pinned: deactivate a pinned adapter first`;
    if (pins === capacity && others > 0)
      return pinned
        ? `pinning this adapter would take the last of the ${capacity} ${label} table rows, and the ${others} unpinned ones could never be served: activate it without pin`
        : `all ${capacity} ${label} table rows are pinned, so this adapter could never be served: deactivate a pinned adapter first`;
    return null;
  }

  /** A request for `e` arrived: it is now the most recently used. */
  touch(e: ResidentAdapter): void {
    e.lastUsed = ++this.clock;
  }

  /**
   * Give `e` a table row now if one is free or can be taken from an idle adapter: true when it is hot.
   * An adapter on disk is read back into it (synchronously: a file read, as on activation). When no row
   * can be had it stays where it is and the scheduler asks again at its next admission. Throws a
   * HostingError (500) when its directory can no longer be read.
   */
  ensureHot(e: ResidentAdapter): boolean {
    if (e.tier === "hot") return true;
    const { used, capacity } = this.tables.usage(e.kind);
    if (used >= capacity && !this.evictHot(e.kind)) return false;
    const p = e.prepared ?? this.load(e);
    if (e.tier === "host") this.hostBytes -= e.bytes;
    this.counters.promotions++;
    this.makeHot(e, this.tables.attach(p)!);
    return true;
  }

  /** Forget a deactivated adapter (nothing uses it any more): its row or host memory is freed. */
  remove(e: ResidentAdapter): void {
    if (!this.all.delete(e)) return;
    if (e.slot) this.tables.release(e.slot);
    if (e.tier === "host") this.hostBytes -= e.bytes;
    e.slot = null;
    e.prepared = null;
    e.tier = "disk";
  }

  stats(): TierStats {
    const n = { hot: 0, host: 0, disk: 0, pinned: 0 };
    for (const e of this.all) {
      n[e.tier]++;
      if (e.pinned) n.pinned++;
    }
    return {
      ...n,
      hostBytes: this.hostBytes,
      hostBudgetBytes: this.hostBudget,
      ...this.counters,
      evictions: { ...this.counters.evictions },
    };
  }

  private load(e: ResidentAdapter): PreparedAdapter {
    let adapter: Adapter;
    try {
      adapter = this.read(e.dir!);
    } catch (err) {
      throw new HostingError(
        `adapter '${e.name}' is active but could not be read back from ${e.dir}: ${(err as Error).message}`,
        500,
        "internal",
      );
    }
    this.counters.loads++;
    return this.tables.prepare(adapter);
  }

  private makeHot(e: ResidentAdapter, slot: TableSlot): void {
    e.tier = "hot";
    e.slot = slot;
    e.prepared = null;
  }

  private toHost(e: ResidentAdapter, p: PreparedAdapter): void {
    e.tier = "host";
    e.prepared = p;
    this.hostBytes += e.bytes;
    this.trimHost();
  }

  /** Move the least recently used idle, unpinned hot adapter of `kind` to host memory; false when there is none. */
  private evictHot(kind: AdapterKindName): boolean {
    let victim: ResidentAdapter | null = null;
    for (const e of this.all)
      if (e.tier === "hot" && e.kind === kind && !e.pinned && !e.busy() && (!victim || e.lastUsed < victim.lastUsed)) victim = e;
    if (!victim) return false;
    const p = this.tables.detach(victim.slot!);
    victim.slot = null;
    this.counters.evictions.hot++;
    this.toHost(victim, p);
    return true;
  }

  /** Over the host budget: drop the least recently used host adapters that can be re-read to disk. */
  private trimHost(): void {
    while (this.hostBytes > this.hostBudget) {
      let victim: ResidentAdapter | null = null;
      for (const e of this.all)
        if (e.tier === "host" && e.dir !== null && !e.pinned && (!victim || e.lastUsed < victim.lastUsed)) victim = e;
      if (!victim) return;
      victim.tier = "disk";
      victim.prepared = null;
      this.hostBytes -= victim.bytes;
      this.counters.evictions.host++;
    }
  }
}
