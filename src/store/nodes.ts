// The node registry: nodes (machines, or shares of one, that run units) with their capacity, and the
// units reserved on them. A core is held by at most one unit: the reserved_cores primary key enforces it,
// so two racing placements can never book the same core even if a rule above had a bug.

import type { Db } from "./db.ts";
import { StoreError } from "./db.ts";

export interface NodeRow {
  id: string;
  /** a name for people (the host name) */
  name: string;
  /** the CPU ids units may be pinned to */
  cores: number[];
  /** memory units may reserve, in bytes */
  memoryBytes: number;
  /** accelerators (GPUs); none on CPU nodes */
  accelerators: string[];
  /** whether units' processes are pinned to their cores, and why not when they are not */
  pinning: { enabled: boolean; reason: string | null };
  timeRegistered: string;
  timeHeartbeat: string;
}

export interface UnitReservationRow {
  clusterId: string;
  /** 0 … unitCount-1 */
  unitIndex: number;
  nodeId: string;
  cores: number[];
  memoryBytes: number;
  timeCreated: string;
}

export class NodeRepo {
  constructor(private readonly db: Db) {}

  /** Register a node, or update its capacity (its reservations stay). */
  upsert(n: Omit<NodeRow, "timeRegistered" | "timeHeartbeat">): NodeRow {
    const t = new Date().toISOString();
    const { id, ...body } = n;
    this.db
      .prepare(
        "INSERT INTO nodes (id, body, time_registered, time_heartbeat) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body, time_heartbeat = excluded.time_heartbeat",
      )
      .run(id, JSON.stringify(body), t, t);
    return this.get(id)!;
  }

  get(id: string): NodeRow | null {
    const r = this.db.prepare("SELECT * FROM nodes WHERE id = ?").get(id) as NodeDbRow | undefined;
    return r ? toNode(r) : null;
  }

  list(): NodeRow[] {
    return (this.db.prepare("SELECT * FROM nodes ORDER BY id").all() as NodeDbRow[]).map(toNode);
  }

  /** Reservations, all or of one cluster or node, by cluster and unit. */
  reservations(q: { clusterId?: string; nodeId?: string } = {}): UnitReservationRow[] {
    const cond: string[] = [];
    const args: string[] = [];
    if (q.clusterId !== undefined) {
      cond.push("u.cluster_id = ?");
      args.push(q.clusterId);
    }
    if (q.nodeId !== undefined) {
      cond.push("u.node_id = ?");
      args.push(q.nodeId);
    }
    const rows = this.db
      .prepare(
        `SELECT u.cluster_id, u.unit_index, u.node_id, u.memory_bytes, u.time_created, json_group_array(c.core) AS cores
         FROM unit_reservations u LEFT JOIN reserved_cores c ON c.cluster_id = u.cluster_id AND c.unit_index = u.unit_index
         ${cond.length ? `WHERE ${cond.join(" AND ")}` : ""} GROUP BY u.cluster_id, u.unit_index ORDER BY u.cluster_id, u.unit_index`,
      )
      .all(...args) as ReservationDbRow[];
    return rows.map((r) => ({
      clusterId: r.cluster_id,
      unitIndex: r.unit_index,
      nodeId: r.node_id,
      cores: (JSON.parse(r.cores) as (number | null)[]).filter((c): c is number => c !== null).sort((a, b) => a - b),
      memoryBytes: r.memory_bytes,
      timeCreated: r.time_created,
    }));
  }

  /** Book units; a core already held fails the whole call (run it inside a transaction). */
  reserve(units: readonly Omit<UnitReservationRow, "timeCreated">[]): void {
    const t = new Date().toISOString();
    const unit = this.db.prepare(
      "INSERT INTO unit_reservations (cluster_id, unit_index, node_id, memory_bytes, time_created) VALUES (?, ?, ?, ?, ?)",
    );
    const core = this.db.prepare("INSERT INTO reserved_cores (node_id, core, cluster_id, unit_index) VALUES (?, ?, ?, ?)");
    for (const u of units) {
      unit.run(u.clusterId, u.unitIndex, u.nodeId, u.memoryBytes, t);
      for (const c of u.cores) {
        try {
          core.run(u.nodeId, c, u.clusterId, u.unitIndex);
        } catch (e) {
          throw new StoreError(`core ${c} of node ${u.nodeId} is already reserved (${(e as Error).message})`);
        }
      }
    }
  }

  /** Free a cluster's units from `fromIndex` on (all by default); returns how many were freed. */
  release(clusterId: string, fromIndex = 0): number {
    return this.db.prepare("DELETE FROM unit_reservations WHERE cluster_id = ? AND unit_index >= ?").run(clusterId, fromIndex).changes;
  }
}

interface NodeDbRow {
  id: string;
  body: string;
  time_registered: string;
  time_heartbeat: string;
}

interface ReservationDbRow {
  cluster_id: string;
  unit_index: number;
  node_id: string;
  memory_bytes: number;
  time_created: string;
  cores: string;
}

const toNode = (r: NodeDbRow): NodeRow => ({
  id: r.id,
  ...(JSON.parse(r.body) as Omit<NodeRow, "id" | "timeRegistered" | "timeHeartbeat">),
  timeRegistered: r.time_registered,
  timeHeartbeat: r.time_heartbeat,
});
