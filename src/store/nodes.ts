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
  /** a worker node's internal listener (http://host:port) that API nodes route inference to; absent on the embedded node */
  address?: string | null;
  /** set when an API node declared the node lost (its heartbeat stopped); cleared when the node registers again */
  lost?: { time: string; reason: string } | null;
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
  async upsert(n: Omit<NodeRow, "timeRegistered" | "timeHeartbeat">): Promise<NodeRow> {
    const t = new Date().toISOString();
    const { id, ...body } = n;
    await this.db.run(
      "INSERT INTO nodes (id, body, time_registered, time_heartbeat) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body, time_heartbeat = excluded.time_heartbeat",
      [id, JSON.stringify(body), t, t],
    );
    return (await this.get(id))!;
  }

  async get(id: string): Promise<NodeRow | null> {
    const r = await this.db.get<NodeDbRow>("SELECT * FROM nodes WHERE id = ?", [id]);
    return r ? toNode(r) : null;
  }

  async list(): Promise<NodeRow[]> {
    return (await this.db.all<NodeDbRow>("SELECT * FROM nodes ORDER BY id")).map(toNode);
  }

  /**
   * Inside a transaction, hold every node's row until it ends: placements (read what is free, decide,
   * reserve) then run one after the other on PostgreSQL too (SQLite's transactions already do).
   */
  async lockForPlacement(): Promise<void> {
    await this.db.lockRows("nodes", "1 = 1");
  }

  /** A node's heartbeat: its time_heartbeat is now. Returns the row (null: the node is not registered). */
  async heartbeat(id: string): Promise<NodeRow | null> {
    await this.db.run("UPDATE nodes SET time_heartbeat = ? WHERE id = ?", [new Date().toISOString(), id]);
    return this.get(id);
  }

  /** Declare a node lost (inside the loss check's transaction); its row stays for the admin view. */
  async markLost(id: string, reason: string): Promise<void> {
    const n = await this.get(id);
    if (!n) return;
    const { id: _id, timeRegistered: _r, timeHeartbeat: _h, ...body } = n;
    await this.db.run("UPDATE nodes SET body = ? WHERE id = ?", [
      JSON.stringify({ ...body, lost: { time: new Date().toISOString(), reason } }),
      id,
    ]);
  }

  /** Free every unit reserved on a node; returns how many were freed. */
  async releaseNode(nodeId: string): Promise<number> {
    return (await this.db.run("DELETE FROM unit_reservations WHERE node_id = ?", [nodeId])).changes;
  }

  /** Reservations, all or of one cluster or node, by cluster and unit. */
  async reservations(q: { clusterId?: string; nodeId?: string } = {}): Promise<UnitReservationRow[]> {
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
    // one row per (unit, core), grouped here: portable where json_group_array / json_agg are not
    const rows = await this.db.all<ReservationDbRow>(
      `SELECT u.cluster_id, u.unit_index, u.node_id, u.memory_bytes, u.time_created, c.core
       FROM unit_reservations u LEFT JOIN reserved_cores c ON c.cluster_id = u.cluster_id AND c.unit_index = u.unit_index
       ${cond.length ? `WHERE ${cond.join(" AND ")}` : ""} ORDER BY u.cluster_id, u.unit_index, c.core`,
      args,
    );
    const out: UnitReservationRow[] = [];
    for (const r of rows) {
      let last = out[out.length - 1];
      if (!last || last.clusterId !== r.cluster_id || last.unitIndex !== r.unit_index) {
        last = {
          clusterId: r.cluster_id,
          unitIndex: r.unit_index,
          nodeId: r.node_id,
          cores: [],
          memoryBytes: r.memory_bytes,
          timeCreated: r.time_created,
        };
        out.push(last);
      }
      if (r.core !== null) last.cores.push(r.core);
    }
    return out;
  }

  /** Book units; a core already held fails the whole call (run it inside a transaction). */
  async reserve(units: readonly Omit<UnitReservationRow, "timeCreated">[]): Promise<void> {
    const t = new Date().toISOString();
    for (const u of units) {
      await this.db.run(
        "INSERT INTO unit_reservations (cluster_id, unit_index, node_id, memory_bytes, time_created) VALUES (?, ?, ?, ?, ?)",
        [u.clusterId, u.unitIndex, u.nodeId, u.memoryBytes, t],
      );
      for (const c of u.cores) {
        try {
          await this.db.run("INSERT INTO reserved_cores (node_id, core, cluster_id, unit_index) VALUES (?, ?, ?, ?)", [
            u.nodeId,
            c,
            u.clusterId,
            u.unitIndex,
          ]);
        } catch (e) {
          throw new StoreError(`core ${c} of node ${u.nodeId} is already reserved (${(e as Error).message})`);
        }
      }
    }
  }

  /** Free a cluster's units from `fromIndex` on (all by default); returns how many were freed. */
  async release(clusterId: string, fromIndex = 0): Promise<number> {
    return (await this.db.run("DELETE FROM unit_reservations WHERE cluster_id = ? AND unit_index >= ?", [clusterId, fromIndex])).changes;
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
  core: number | null;
}

const toNode = (r: NodeDbRow): NodeRow => ({
  id: r.id,
  ...(JSON.parse(r.body) as Omit<NodeRow, "id" | "timeRegistered" | "timeHeartbeat">),
  timeRegistered: r.time_registered,
  timeHeartbeat: r.time_heartbeat,
});
