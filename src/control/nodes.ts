// Nodes: the registry interface the capacity rules use (the store implements it, on SQLite or PostgreSQL), and the embedded node: this machine's cores (those this process may
// run on), memory and whether units can be pinned (Linux CPU affinity through util-linux's taskset).

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, hostname, totalmem } from "node:os";
import { z } from "zod";
import type { NodeRow, UnitReservationRow } from "../store/index.ts";
import { cpuList, parseCpuList } from "./placement.ts";

/** What placement needs from wherever nodes and reservations are kept. Writes run inside a store transaction. */
export interface NodeRegistry {
  upsert(n: Omit<NodeRow, "timeRegistered" | "timeHeartbeat">): Promise<NodeRow>;
  get(id: string): Promise<NodeRow | null>;
  list(): Promise<NodeRow[]>;
  /** inside a transaction: hold the nodes until it ends, so placements run one after the other */
  lockForPlacement(): Promise<void>;
  reservations(q?: { clusterId?: string; nodeId?: string }): Promise<UnitReservationRow[]>;
  /** books every unit or throws (a core already held) */
  reserve(units: readonly Omit<UnitReservationRow, "timeCreated">[]): Promise<void>;
  release(clusterId: string, fromIndex?: number): Promise<number>;
  /** inside a transaction: mark a node lost (its heartbeat stopped) */
  markLost(id: string, reason: string): Promise<void>;
  /** free every unit reserved on a node */
  releaseNode(nodeId: string): Promise<number>;
}

/** The embedded node's id: the machine the data directory's service runs on. */
export const LOCAL_NODE_ID = "local";

/** Operator settings of the embedded node (`sprig serve --cores --memory --no-pinning`). */
export const LocalNodeSettingsSchema = z.strictObject({
  /** CPU ids units may reserve (default: every CPU this process may run on) */
  cores: z.array(z.number().int().min(0).max(4095)).min(1).optional(),
  /** memory units may reserve, in bytes (default: the machine's, or the cgroup limit when lower) */
  memoryBytes: z.number().int().min(1).optional(),
  /** pin unit processes to their cores (default: on where taskset works) */
  pinning: z.boolean().default(true),
  /** the node's name for people (default: the host name) */
  name: z.string().min(1).max(255).optional(),
});
export type LocalNodeSettings = z.input<typeof LocalNodeSettingsSchema>;

/** CPUs this process may run on: Linux's Cpus_allowed_list, else 0 … availableParallelism-1. */
export function allowedCpus(): number[] {
  try {
    const m = /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
    const list = m ? parseCpuList(m[1]!) : null;
    if (list?.length) return list;
  } catch {
    // not Linux: fall through
  }
  return Array.from({ length: availableParallelism() }, (_, i) => i);
}

function machineMemory(): number {
  const limit = typeof process.constrainedMemory === "function" ? process.constrainedMemory() : 0;
  // constrainedMemory is 0 (or a huge sentinel) when no cgroup limit applies
  return limit > 0 && limit < totalmem() ? limit : totalmem();
}

/** Whether `taskset -c cores` works here (util-linux installed, affinity permitted). */
function pinningWorks(cores: readonly number[]): { enabled: boolean; reason: string | null } {
  if (process.platform !== "linux")
    return { enabled: false, reason: `CPU affinity is not supported on ${process.platform} (needs Linux and taskset)` };
  const r = spawnSync("taskset", ["-c", cpuList(cores), "true"], { stdio: "ignore" });
  if (r.error) return { enabled: false, reason: "taskset (Debian package util-linux) is not installed: units run unpinned" };
  return r.status === 0
    ? { enabled: true, reason: null }
    : { enabled: false, reason: `taskset -c ${cpuList(cores)} failed (exit ${r.status}): units run unpinned` };
}

/** The embedded node as it registers itself. Throws on settings that cannot hold (cores this process may not use). */
export function localNode(input: LocalNodeSettings = {}): Omit<NodeRow, "timeRegistered" | "timeHeartbeat"> {
  const s = LocalNodeSettingsSchema.parse(input);
  const allowed = allowedCpus();
  const cores = [...new Set(s.cores ?? allowed)].sort((a, b) => a - b);
  const outside = cores.filter((c) => !allowed.includes(c));
  // without pinning the ids only count capacity; with it they must be CPUs this process can run on
  if (s.pinning && outside.length)
    throw new Error(
      `cores: CPU ${cpuList(outside)} is not available to this process (it may use ${cpuList(allowed)}); or turn pinning off`,
    );
  const pinning = s.pinning ? pinningWorks(cores) : { enabled: false, reason: "pinning turned off by the operator (--no-pinning)" };
  return { id: LOCAL_NODE_ID, name: s.name ?? hostname(), cores, memoryBytes: s.memoryBytes ?? machineMemory(), accelerators: [], pinning };
}
