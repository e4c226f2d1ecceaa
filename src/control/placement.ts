// Placement as pure rules: given the nodes, what is reserved on them and a cluster's shape, choose a node
// and whole cores for each new unit, or say why not and what is free. No I/O: capacity.ts applies the
// result in a store transaction, and tests drive these rules with plain data.

import type { UnitShape } from "./shapes.ts";

export interface NodeCapacity {
  id: string;
  name: string;
  /** CPU ids units may hold */
  cores: readonly number[];
  memoryBytes: number;
}

export interface UnitReservation {
  clusterId: string;
  unitIndex: number;
  nodeId: string;
  cores: number[];
  memoryBytes: number;
}

export interface NodeFree {
  nodeId: string;
  name: string;
  totalCores: number;
  freeCores: number[];
  totalMemoryBytes: number;
  freeMemoryBytes: number;
}

export type Placement = { ok: true; units: UnitReservation[] } | { ok: false; fits: number; free: NodeFree[] };

/** What is left on each node after its reservations (cores a node no longer has are not counted free). */
export function freeCapacity(nodes: readonly NodeCapacity[], reservations: readonly UnitReservation[]): NodeFree[] {
  return nodes.map((n) => {
    const mine = reservations.filter((r) => r.nodeId === n.id);
    const held = new Set(mine.flatMap((r) => r.cores));
    return {
      nodeId: n.id,
      name: n.name,
      totalCores: n.cores.length,
      freeCores: n.cores.filter((c) => !held.has(c)).sort((a, b) => a - b),
      totalMemoryBytes: n.memoryBytes,
      freeMemoryBytes: Math.max(0, n.memoryBytes - mine.reduce((s, r) => s + r.memoryBytes, 0)),
    };
  });
}

/**
 * Place units `unitIndexes` of a cluster, all or none. Each unit goes on one node with enough free cores
 * and memory: first the node holding the fewest of this cluster's units (spread, so one node's loss
 * takes few of them), then the tightest fit (large holes stay free for large shapes), then by node id.
 * On a node a unit takes the lowest-numbered free cores.
 */
export function place(
  nodes: readonly NodeCapacity[],
  reservations: readonly UnitReservation[],
  clusterId: string,
  shape: UnitShape,
  unitIndexes: readonly number[],
): Placement {
  const free = freeCapacity(nodes, reservations);
  const work = free.map((f) => ({
    ...f,
    freeCores: [...f.freeCores],
    mine: reservations.filter((r) => r.nodeId === f.nodeId && r.clusterId === clusterId).length,
  }));
  const units: UnitReservation[] = [];
  for (const unitIndex of unitIndexes) {
    const fit = work.filter((n) => n.freeCores.length >= shape.cores && n.freeMemoryBytes >= shape.memoryBytes);
    fit.sort(
      (a, b) =>
        a.mine - b.mine ||
        a.freeCores.length - b.freeCores.length ||
        a.freeMemoryBytes - b.freeMemoryBytes ||
        (a.nodeId < b.nodeId ? -1 : 1),
    );
    const n = fit[0];
    if (!n) return { ok: false, fits: units.length, free };
    const cores = n.freeCores.splice(0, shape.cores);
    n.freeMemoryBytes -= shape.memoryBytes;
    n.mine += 1;
    units.push({ clusterId, unitIndex, nodeId: n.nodeId, cores, memoryBytes: shape.memoryBytes });
  }
  return { ok: true, units };
}

const GiB = 1024 ** 3;
export const gib = (b: number): string => `${(b / GiB).toFixed(b % GiB === 0 ? 0 : 1)} GiB`;

/** "0-3,6" for [0,1,2,3,6]: the notation of taskset and /proc. */
export function cpuList(cores: readonly number[]): string {
  const s = [...cores].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < s.length;) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j]! + 1) j++;
    out.push(i === j ? `${s[i]}` : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return out.join(",");
}

/** Parse "0-3,6" (taskset and /proc notation); null when malformed. */
export function parseCpuList(text: string): number[] | null {
  const out = new Set<number>();
  for (const part of text.trim().split(",")) {
    const m = /^(\d{1,4})(?:-(\d{1,4}))?$/.exec(part.trim());
    if (!m) return null;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) return null;
    for (let c = a; c <= b; c++) out.add(c);
  }
  return [...out].sort((x, y) => x - y);
}

/** The refusal's text: which shape, how many units, what is free on every node. */
export function describeFree(free: readonly NodeFree[]): string {
  if (!free.length) return "no node is registered";
  return free
    .map(
      (f) =>
        `node ${f.name} has ${f.freeCores.length} of ${f.totalCores} cores free${f.freeCores.length ? ` (${cpuList(f.freeCores)})` : ""} and ${gib(f.freeMemoryBytes)} of ${gib(f.totalMemoryBytes)} memory`,
    )
    .join("; ");
}
