// Capacity: reserving and releasing a cluster's units on nodes (the rules are placement.ts; this applies
// them to the registry inside the caller's store transaction), where each unit runs, start-up repair of
// reservations, and the operator's admin view of nodes, capacity and who holds what.

import { ServiceError } from "./errors.ts";
import type { UnitSpec } from "./executors.ts";
import type { NodeRegistry } from "./nodes.ts";
import { describeFree, freeCapacity, gib, place } from "./placement.ts";
import type { ClusterUnit, DedicatedAiCluster } from "./resources.ts";
import { shape } from "./shapes.ts";
import type { NodeRow } from "../store/index.ts";

export interface CapacityView {
  nodes: (NodeRow & {
    freeCores: number[];
    freeMemoryBytes: number;
    units: {
      clusterId: string;
      displayName: string | null;
      compartmentId: string | null;
      type: string | null;
      unitShape: string | null;
      lifecycleState: string | null;
      unitIndex: number;
      cores: number[];
      memoryBytes: number;
    }[];
  })[];
}

const unitsText = (n: number): string => `${n} unit${n === 1 ? "" : "s"}`;

export class Capacity {
  constructor(
    private readonly nodes: NodeRegistry,
    private readonly clusterOf: (id: string) => Promise<DedicatedAiCluster | null>,
    /** which nodes new units may go to (several machines: those heartbeating); default every registered node */
    private readonly live: (n: NodeRow) => boolean = () => true,
  ) {}

  /**
   * Reserve units `from` … `to`-1 of a cluster on nodes with room, or throw LimitExceeded (400) naming the
   * shape, the units and what is free, having reserved nothing. Call inside the store transaction that
   * writes the cluster, so a refusal leaves no trace.
   */
  async reserve(c: Pick<DedicatedAiCluster, "id" | "unitShape">, from: number, to: number): Promise<void> {
    if (to <= from) return;
    const s = shape(c.unitShape);
    // what is free must not change between reading it and booking it (PostgreSQL: another API node)
    await this.nodes.lockForPlacement();
    const nodes = (await this.nodes.list()).filter(this.live);
    const want = Array.from({ length: to - from }, (_, i) => from + i);
    const p = place(nodes, await this.nodes.reservations(), c.id, s, want);
    if (!p.ok) {
      const what = from === 0 ? `${unitsText(to)} of ${s.name}` : `${unitsText(to - from)} more of ${s.name} (${from} → ${to})`;
      const fits = p.fits ? ` Only ${unitsText(p.fits)} would fit.` : "";
      throw new ServiceError(
        400,
        "LimitExceeded",
        `unitCount: no room for ${what} (${s.cores} core${s.cores === 1 ? "" : "s"} and ${gib(s.memoryBytes)} each).${fits} Free now: ${describeFree(p.free)}. Delete or shrink another cluster, or ask for fewer units or a smaller shape`,
      );
    }
    await this.nodes.reserve(p.units);
  }

  /** Free a cluster's units from `fromIndex` on (all by default). */
  async release(clusterId: string, fromIndex = 0): Promise<void> {
    await this.nodes.release(clusterId, fromIndex);
  }

  /** Where a cluster's units run, for its resource JSON. */
  async placement(clusterId: string): Promise<ClusterUnit[]> {
    const nodes = new Map((await this.nodes.list()).map((n) => [n.id, n]));
    return (await this.nodes.reservations({ clusterId })).map((r) => ({
      unitIndex: r.unitIndex,
      nodeId: r.nodeId,
      nodeName: nodes.get(r.nodeId)?.name ?? r.nodeId,
      cores: r.cores,
      memoryBytes: r.memoryBytes,
      pinned: nodes.get(r.nodeId)?.pinning.enabled ?? false,
    }));
  }

  /** A cluster's units as the executors start them (pinned when their node can pin). */
  async units(clusterId: string): Promise<UnitSpec[]> {
    return (await this.placement(clusterId)).map((u) => ({
      index: u.unitIndex,
      nodeId: u.nodeId,
      cores: u.cores,
      memoryBytes: u.memoryBytes,
      pin: u.pinned,
    }));
  }

  /**
   * Start-up repair, in one transaction by the caller: reservations of clusters that are gone are freed,
   * units beyond unitCount (a shrink cut short) are freed, and missing units (a data directory from before
   * reservations, or a node that lost cores) are placed where there is room. Returns what could not be placed.
   */
  async repair(clusters: readonly DedicatedAiCluster[]): Promise<{ clusterId: string; missing: number; reason: string }[]> {
    await this.nodes.lockForPlacement();
    const live = new Map(clusters.map((c) => [c.id, c]));
    for (const r of await this.nodes.reservations()) {
      const c = live.get(r.clusterId);
      if (!c) await this.nodes.release(r.clusterId);
      else if (r.unitIndex >= c.unitCount) await this.nodes.release(r.clusterId, c.unitCount);
    }
    // a unit whose cores left the node (the operator narrowed --cores) is placed again
    const nodes = new Map((await this.nodes.list()).map((n) => [n.id, n]));
    for (const r of await this.nodes.reservations()) {
      const n = nodes.get(r.nodeId);
      // (release frees this unit and the cluster's later ones; all of them are placed again below)
      if (!n || r.cores.some((x) => !n.cores.includes(x))) await this.nodes.release(r.clusterId, r.unitIndex);
    }
    const short: { clusterId: string; missing: number; reason: string }[] = [];
    for (const c of clusters) {
      const have = new Set((await this.nodes.reservations({ clusterId: c.id })).map((r) => r.unitIndex));
      const missing = Array.from({ length: c.unitCount }, (_, i) => i).filter((i) => !have.has(i));
      for (const i of missing) {
        try {
          await this.reserve(c, i, i + 1);
        } catch (e) {
          short.push({ clusterId: c.id, missing: missing.length, reason: (e as Error).message });
          break;
        }
      }
    }
    return short;
  }

  /** The admin view: every node, its capacity, what is free, and which cluster holds which unit. */
  async view(): Promise<CapacityView> {
    const nodes = await this.nodes.list();
    const all = await this.nodes.reservations();
    const free = new Map(freeCapacity(nodes, all).map((f) => [f.nodeId, f]));
    const clusters = new Map<string, DedicatedAiCluster | null>();
    for (const r of all) if (!clusters.has(r.clusterId)) clusters.set(r.clusterId, await this.clusterOf(r.clusterId));
    return {
      nodes: nodes.map((n) => ({
        ...n,
        freeCores: free.get(n.id)!.freeCores,
        freeMemoryBytes: free.get(n.id)!.freeMemoryBytes,
        units: all
          .filter((r) => r.nodeId === n.id)
          .map((r) => {
            const c = clusters.get(r.clusterId) ?? null;
            return {
              clusterId: r.clusterId,
              displayName: c?.displayName ?? null,
              compartmentId: c?.compartmentId ?? null,
              type: c?.type ?? null,
              unitShape: c?.unitShape ?? null,
              lifecycleState: c?.lifecycleState ?? null,
              unitIndex: r.unitIndex,
              cores: r.cores,
              memoryBytes: r.memoryBytes,
            };
          }),
      })),
    };
  }
}
