// Node loss, on API nodes: a worker node whose heartbeat is older than the timeout is declared lost — by
// exactly one API node, since the check runs in one transaction holding every node row (placement's lock),
// and a node already marked lost is not declared again. Its units' reservations are moved to live nodes with
// room in that same transaction (units that find none stay unplaced and their cluster goes NEEDS_ATTENTION
// with the reason); then every API node brings its running pools in line with the reservations, which loads
// the endpoints on the new nodes. Rules first (pure, tested with plain rows), then the monitor that applies them.

import { z } from "zod";
import { attentionResolved, needsAttention } from "../attention.ts";
import type { ControlContext } from "../context.ts";
import type { UnitSpec } from "../executors.ts";
import type { Pools } from "../pools.ts";
import type { DedicatedAiCluster } from "../resources.ts";
import type { NodeRow, UnitReservationRow } from "../../store/index.ts";

export const MultiNodeSettingsSchema = z.strictObject({
  /** a worker node silent (no heartbeat) this long is declared lost and its units placed elsewhere */
  nodeTimeoutMs: z.number().int().min(1_000).max(3_600_000).default(15_000),
  /** how often an API node checks for lost nodes and brings its pools in line with the reservations */
  checkIntervalMs: z.number().int().min(100).max(600_000).default(2_000),
});
export type MultiNodeSettings = z.infer<typeof MultiNodeSettingsSchema>;

/** What the node-loss handling calls beyond the store: the executor, and the fine-tune job queue. */
export interface NodeLossHooks {
  /** the hosting executor stops waiting for the node: requests in flight to it fail now with a 503 */
  nodeLost?(nodeId: string): void;
  /** the fine-tune jobs the node ran are claimed again by live nodes (the job queue's requeueJobsOfNode) */
  requeueJobsOfNode?(nodeId: string): Promise<unknown>;
  /** the units a cluster's running pool holds now (null: no pool here) */
  runningUnits?(clusterId: string): readonly UnitSpec[] | null;
}

// --- rules ---

/** A node counts as live while it is not declared lost and its last heartbeat is within the timeout. */
export function isLive(n: Pick<NodeRow, "lost" | "timeHeartbeat">, nowMs: number, timeoutMs: number): boolean {
  return !n.lost && nowMs - Date.parse(n.timeHeartbeat) <= timeoutMs;
}

/** The nodes to declare lost now: not lost yet, heartbeat older than the timeout. */
export function nodesToDeclareLost<N extends Pick<NodeRow, "lost" | "timeHeartbeat">>(
  nodes: readonly N[],
  nowMs: number,
  timeoutMs: number,
): N[] {
  return nodes.filter((n) => !n.lost && !isLive(n, nowMs, timeoutMs));
}

/** The unit indexes of a cluster that hold no reservation. */
export function missingUnits(
  c: Pick<DedicatedAiCluster, "id" | "unitCount">,
  reservations: readonly Pick<UnitReservationRow, "clusterId" | "unitIndex">[],
): number[] {
  const have = new Set(reservations.filter((r) => r.clusterId === c.id).map((r) => r.unitIndex));
  return Array.from({ length: c.unitCount }, (_, i) => i).filter((i) => !have.has(i));
}

/** Whether a pool runs exactly these units (same index, node and cores). */
export function sameUnits(a: readonly UnitSpec[], b: readonly UnitSpec[]): boolean {
  const key = (us: readonly UnitSpec[]) =>
    us
      .map((u) => `${u.index}@${u.nodeId}:${u.cores.join(",")}`)
      .sort()
      .join(" ");
  return key(a) === key(b);
}

/** lifecycleDetails of a cluster whose units lost their node and found no other; how the state is recognised again. */
export const NO_NODE = "have no node to run on";
export const noNodeNote = (missing: number, unitCount: number, reason: string): string =>
  `${missing} of ${unitCount} units ${NO_NODE} (their node was lost or is full): ${reason}. Start a worker node with room or free cores, or resize the cluster to fewer units`;

// --- the monitor ---

export interface LossReport {
  /** nodes this API node declared lost */
  lost: string[];
  /** clusters whose running pool was moved to other units */
  moved: string[];
  /** clusters with units that found no node, and why */
  short: { clusterId: string; missing: number; reason: string }[];
}

export class NodeLossMonitor {
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<LossReport> | null = null;

  constructor(
    private readonly ctx: ControlContext,
    private readonly pools: Pools,
    readonly settings: MultiNodeSettings,
    private readonly hooks: NodeLossHooks = {},
  ) {}

  start(): void {
    this.timer = setInterval(
      () => void this.tick().catch((e: unknown) => this.ctx.log.error({ err: String(e) }, "node-loss check failed")),
      this.settings.checkIntervalMs,
    );
    this.timer.unref();
  }

  /** One check (never two at once on this API node). */
  tick(): Promise<LossReport> {
    this.ticking ??= this.check().finally(() => (this.ticking = null));
    return this.ticking;
  }

  private async check(): Promise<LossReport> {
    if (this.ctx.bg.closed) return { lost: [], moved: [], short: [] };
    const { lost, short, clusters } = await this.declare();
    for (const id of lost) {
      this.hooks.nodeLost?.(id);
      await this.hooks.requeueJobsOfNode?.(id);
    }
    for (const c of clusters) {
      const miss = short.find((s) => s.clusterId === c.id);
      if (miss) await needsAttention(this.ctx, c.id, noNodeNote(miss.missing, c.unitCount, miss.reason));
      else if (c.lifecycleState === "NEEDS_ATTENTION" && c.lifecycleDetails?.includes(NO_NODE)) await attentionResolved(this.ctx, c.id);
    }
    return { lost, moved: await this.reconcile(), short };
  }

  /** In one transaction: declare stale nodes lost, free their units, place every unit without a node where there is room. */
  private declare() {
    const { store, capacity } = this.ctx;
    return store.tx(async () => {
      await store.nodes.lockForPlacement();
      const timeout = this.settings.nodeTimeoutMs;
      const lost = nodesToDeclareLost(await store.nodes.list(), Date.now(), timeout);
      for (const n of lost) {
        const reason = `no heartbeat since ${n.timeHeartbeat} (timeout ${timeout / 1000} s)`;
        await store.nodes.markLost(n.id, reason);
        const freed = await store.nodes.releaseNode(n.id);
        this.ctx.log.warn({ nodeId: n.id, units: freed, reason }, "node lost: its units are placed on other nodes");
      }
      const clusters = await store.clusters.inStates(["ACTIVE", "NEEDS_ATTENTION"]);
      const all = await store.nodes.reservations();
      const short: LossReport["short"] = [];
      for (const c of clusters) {
        const miss = missingUnits(c, all);
        for (const [k, i] of miss.entries()) {
          try {
            await capacity.reserve(c, i, i + 1);
          } catch (e) {
            short.push({ clusterId: c.id, missing: miss.length - k, reason: (e as Error).message });
            break;
          }
        }
      }
      return { lost: lost.map((n) => n.id), short, clusters };
    });
  }

  /** Bring every running pool in line with its cluster's reservations (loads the endpoints on the new nodes). */
  private async reconcile(): Promise<string[]> {
    const moved: string[] = [];
    for (const id of this.pools.running()) {
      const have = this.hooks.runningUnits?.(id);
      if (!have) continue;
      const want = await this.ctx.capacity.units(id);
      if (sameUnits(want, have)) continue;
      try {
        await (await this.pools.get(id))?.resize(want);
        moved.push(id);
        this.ctx.log.info({ clusterId: id, units: want.map((u) => `${u.index}@${u.nodeId}`) }, "cluster units moved");
      } catch (e) {
        await needsAttention(
          this.ctx,
          id,
          `the cluster's units could not be started on their new nodes: ${(e as Error).message}. See the worker nodes' logs; the next check retries`,
        );
      }
    }
    return moved;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ticking?.catch(() => undefined);
  }
}
