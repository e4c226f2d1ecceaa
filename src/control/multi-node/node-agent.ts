// The worker node's agent: registers the node (capacity and internal address) in the shared database,
// heartbeats, holds the hosting pools of the clusters whose units are reserved here (started and resized by
// API nodes over the internal API), and runs the node's other services (the fine-tune consumer). A node that
// finds itself declared lost (it was paused or cut off past the timeout) stops its pools — their units now
// run elsewhere — and registers again, empty.

import { ExecutorError, type HostingExecutor, type HostingPool, type UnitSpec } from "../executors.ts";
import type { Logger } from "../config.ts";
import type { NodeRow } from "../../store/index.ts";
import { NO_POOL, type PoolBody } from "./protocol.ts";

/** What the agent needs from the node registry (the store's NodeRepo). */
export interface NodeAgentRegistry {
  upsert(n: Omit<NodeRow, "timeRegistered" | "timeHeartbeat">): Promise<NodeRow>;
  heartbeat(id: string): Promise<NodeRow | null>;
}

/** Something else a worker node runs beside its hosting pools, started once the node is registered. */
export interface NodeService {
  name: string;
  start(o: { nodeId: string }): Promise<{ stop(): Promise<void> }> | { stop(): Promise<void> };
}

export interface NodeAgentOptions {
  registry: NodeAgentRegistry;
  /** the node as it registers (id, capacity, pinning); its address is set by start() */
  node: Omit<NodeRow, "timeRegistered" | "timeHeartbeat" | "address" | "lost">;
  hosting: HostingExecutor;
  /** time between heartbeats (the API nodes' loss timeout must be several of these) */
  heartbeatIntervalMs: number;
  log: Logger;
  /** started after registration, stopped first on close */
  services?: readonly NodeService[];
}

interface HeldPool {
  baseModelDir: string;
  pool: Promise<HostingPool>;
}

export class NodeAgent {
  private readonly pools = new Map<string, HeldPool>();
  private timer: NodeJS.Timeout | null = null;
  private running: { name: string; stop(): Promise<void> }[] = [];
  private address: string | null = null;
  private closed = false;

  constructor(private readonly o: NodeAgentOptions) {}

  /** Log through the listener's logger once it exists. */
  setLogger(log: Logger): void {
    this.o.log = log;
  }

  get nodeId(): string {
    return this.o.node.id;
  }

  /** Register with the internal listener's address, start heartbeating and the node's services. */
  async start(address: string): Promise<NodeRow> {
    this.address = address;
    const row = await this.register();
    this.timer = setInterval(() => void this.beat(), this.o.heartbeatIntervalMs);
    this.timer.unref();
    for (const s of this.o.services ?? []) {
      this.running.push({ name: s.name, ...(await s.start({ nodeId: this.nodeId })) });
      this.o.log.info({ nodeId: this.nodeId, service: s.name }, "node service started");
    }
    return row;
  }

  private register(): Promise<NodeRow> {
    return this.o.registry.upsert({ ...this.o.node, address: this.address, lost: null });
  }

  private async beat(): Promise<void> {
    if (this.closed) return;
    try {
      const row = await this.o.registry.heartbeat(this.nodeId);
      if (row && !row.lost) return;
      this.o.log.warn(
        { nodeId: this.nodeId, lost: row?.lost ?? null },
        "this node was declared lost (its units were placed elsewhere): stopping its pools and registering again",
      );
      await this.closePools();
      await this.register();
    } catch (e) {
      // the database is unreachable: keep trying; past the timeout the API nodes move the units away
      this.o.log.error({ nodeId: this.nodeId, err: String(e) }, "heartbeat failed");
    }
  }

  /** Start the cluster's pool with these units, or resize it to them (the API node's PUT; idempotent). */
  async ensurePool(clusterId: string, body: PoolBody): Promise<void> {
    const foreign = body.units.filter((u) => u.nodeId !== this.nodeId);
    if (foreign.length)
      throw new ExecutorError(
        `units ${foreign.map((u) => u.index).join(", ")} are reserved on node ${foreign[0]!.nodeId}, not on ${this.nodeId}`,
        400,
        "wrong_node",
      );
    const units: UnitSpec[] = body.units;
    const held = this.pools.get(clusterId);
    if (held && held.baseModelDir === body.baseModelDir) {
      await (await held.pool).resize(units);
      return;
    }
    if (held) await this.closePool(clusterId);
    const pool = this.o.hosting.startPool({ clusterId, baseModelDir: body.baseModelDir, units });
    this.pools.set(clusterId, { baseModelDir: body.baseModelDir, pool });
    pool.catch(() => this.pools.get(clusterId)?.pool === pool && this.pools.delete(clusterId));
    await pool;
  }

  /** The cluster's pool on this node, or a 404 the API node answers by setting it up again. */
  async pool(clusterId: string): Promise<HostingPool> {
    const held = this.pools.get(clusterId);
    if (!held) throw new ExecutorError(`node ${this.nodeId} holds no pool for cluster ${clusterId}`, 404, NO_POOL);
    return held.pool;
  }

  async closePool(clusterId: string): Promise<void> {
    const held = this.pools.get(clusterId);
    this.pools.delete(clusterId);
    if (held) await (await held.pool.catch(() => null))?.close();
  }

  private async closePools(): Promise<void> {
    await Promise.all([...this.pools.keys()].map((id) => this.closePool(id)));
  }

  /** Clusters with a pool here. */
  clusters(): string[] {
    return [...this.pools.keys()];
  }

  /** Stop heartbeating, the services, then the pools. The row stays: API nodes declare the node lost after the timeout. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const s of this.running.splice(0).reverse()) {
      await s.stop().catch((e: unknown) => this.o.log.error({ service: s.name, err: String(e) }, "node service did not stop cleanly"));
    }
    await this.closePools();
  }
}
