// Dedicated AI clusters: create (CREATING → ACTIVE), update (unitCount resizes a running hosting pool),
// delete (refused while endpoints or fine-tunes use the cluster). Every unit is reserved on a node when the
// cluster is created or grown (in the same transaction: no room, nothing written) and freed when it shrinks,
// is deleted or fails. Capacity and where the units run are derived on every read.

import type { ControlContext, Page, Scope, WorkRequests } from "./context.ts";
import { checkEtag, decodePage, fetchVisible, listCompartments, page, requireCompartment } from "./context.ts";
import { conflict, incorrectState } from "./errors.ts";
import { commonFields, now, ocid } from "./ids.ts";
import type { Pools } from "./pools.ts";
import type { CreateDedicatedAiClusterDetails, ListQuery, UpdateDedicatedAiClusterDetails } from "./requests.ts";
import type { DedicatedAiCluster } from "./resources.ts";
import { DEFAULT_UNIT_SHAPE } from "./shapes.ts";

export interface Mutation<T> {
  value: T;
  etag: string;
  workRequestId?: string;
}

const LIVE = (s: string): boolean => s !== "DELETED" && s !== "FAILED";

export class Clusters {
  constructor(
    private readonly ctx: ControlContext,
    private readonly wr: WorkRequests,
    private readonly pools: Pools,
    /** running or queued fine-tunes on a cluster */
    private readonly fineTunesOn: (clusterId: string) => Promise<number>,
    /** units of a cluster a running fine-tune occupies */
    private readonly busyUnits: (clusterId: string) => number[],
  ) {}

  /** The cluster as stored, with its capacity computed now. */
  private async present(c: DedicatedAiCluster): Promise<DedicatedAiCluster> {
    const units = await this.ctx.capacity.placement(c.id);
    if (c.type !== "HOSTING") return { ...c, capacity: null, units };
    const used = await this.ctx.store.endpoints.count((e) => e.dedicatedAiClusterId === c.id && e.lifecycleState !== "DELETED");
    return {
      ...c,
      capacity: {
        capacityType: "HOSTING_CAPACITY",
        totalEndpointCapacity: this.ctx.config.endpointCapacityPerCluster,
        usedEndpointCapacity: used,
      },
      units,
    };
  }

  async create(scope: Scope, d: CreateDedicatedAiClusterDetails): Promise<Mutation<DedicatedAiCluster>> {
    requireCompartment(scope, d.compartmentId);
    const t = now();
    const id = ocid("generativeaidedicatedaicluster");
    const c: DedicatedAiCluster = {
      ...commonFields(id, d, `${d.type.toLowerCase().replace("_", "-")}-cluster-${t.slice(0, 19).replace(/[-:T]/g, "")}`, null, t),
      type: d.type,
      unitShape: d.unitShape ?? DEFAULT_UNIT_SHAPE,
      unitCount: d.unitCount,
      capacity: null,
      lifecycleState: "CREATING",
      baseModelId: null,
    };
    // a refusal (no room) throws before the transaction commits: no cluster, no work request, no reservation
    const w = await this.ctx.store.tx(async () => {
      await this.ctx.store.clusters.insert(c);
      await this.ctx.capacity.reserve(c, 0, c.unitCount);
      return this.wr.create(c.compartmentId, "CREATE_DEDICATED_AI_CLUSTER", "DedicatedAiCluster", id, "IN_PROGRESS");
    });
    // nothing to load yet: hosting workers start on their reserved cores with the first endpoint, fine-tuning workers per job
    this.ctx.bg.run("cluster create", () => this.settle(id, w.id, "ACTIVE", "CREATED", "cluster is ready"));
    const row = (await this.ctx.store.clusters.get(id))!;
    return { value: await this.present(row.value), etag: row.etag, workRequestId: w.id };
  }

  /** Move a cluster out of a transitional state and close its work request. */
  async settle(
    id: string,
    wrId: string,
    state: "ACTIVE" | "FAILED" | "DELETED",
    action: "CREATED" | "UPDATED" | "DELETED" | "FAILED",
    msg: string,
  ): Promise<void> {
    if (this.ctx.bg.closed) return;
    await this.ctx.store.tx(async () => {
      const row = await this.ctx.store.clusters.get(id);
      if (row)
        await this.ctx.store.clusters.update({
          ...row.value,
          lifecycleState: state,
          lifecycleDetails: state === "FAILED" ? msg : null,
          timeUpdated: now(),
        });
      // a cluster that is gone or failed holds nothing
      if (state !== "ACTIVE") await this.ctx.capacity.release(id);
    });
    await this.wr.action(wrId, action);
    await this.wr.finish(wrId, state === "FAILED" ? "FAILED" : "SUCCEEDED", msg);
  }

  async get(scope: Scope, id: string): Promise<{ value: DedicatedAiCluster; etag: string }> {
    const r = await fetchVisible((x) => this.ctx.store.clusters.get(x), scope, "dedicated AI cluster", id);
    return { value: await this.present(r.value), etag: r.etag };
  }

  async list(scope: Scope, q: ListQuery): Promise<Page<DedicatedAiCluster>> {
    const offset = decodePage(q.page);
    const r = await this.ctx.store.clusters.list({
      compartmentIds: listCompartments(scope, q.compartmentId),
      lifecycleState: q.lifecycleState,
      displayName: q.displayName,
      where: q.type ? (c) => (c as DedicatedAiCluster).type === q.type : undefined,
      sortBy: q.sortBy,
      sortOrder: q.sortOrder,
      limit: q.limit,
      offset,
    });
    const items: DedicatedAiCluster[] = [];
    for (const c of r.items) items.push(await this.present(c));
    return page({ items, more: r.more }, offset);
  }

  async update(scope: Scope, id: string, d: UpdateDedicatedAiClusterDetails, ifMatch?: string): Promise<Mutation<DedicatedAiCluster>> {
    const { value: c, etag } = await fetchVisible((x) => this.ctx.store.clusters.get(x), scope, "dedicated AI cluster", id);
    checkEtag(id, etag, ifMatch);
    const resize = d.unitCount !== undefined && d.unitCount !== c.unitCount;
    // an operator may resize a NEEDS_ATTENTION cluster to what the nodes can hold
    if (resize && c.lifecycleState !== "ACTIVE" && c.lifecycleState !== "NEEDS_ATTENTION")
      throw incorrectState(
        `dedicated AI cluster ${id} is ${c.lifecycleState}: unitCount can change only when it is ACTIVE or NEEDS_ATTENTION`,
      );
    const next: DedicatedAiCluster = {
      ...c,
      unitCount: d.unitCount ?? c.unitCount,
      displayName: d.displayName ?? c.displayName,
      description: d.description ?? c.description,
      freeformTags: d.freeformTags ?? c.freeformTags,
      definedTags: d.definedTags ?? c.definedTags,
      lifecycleState: resize ? "UPDATING" : c.lifecycleState,
      timeUpdated: now(),
    };
    if (resize && next.unitCount < c.unitCount) {
      const busy = this.busyUnits(id).filter((u) => u >= next.unitCount);
      if (busy.length)
        throw conflict(
          `unitCount: unit${busy.length > 1 ? "s" : ""} ${busy.join(", ")} of cluster ${id} run${busy.length > 1 ? "" : "s"} a fine-tune: wait for it or cancel it, or shrink to ${Math.max(...busy) + 1} units`,
        );
    }
    // growing reserves the new units in the same transaction as the update: no room, nothing changes
    const { w, newEtag } = await this.ctx.store.tx(async () => {
      const newEtag = await this.ctx.store.clusters.update(next, etag);
      if (newEtag === null) throw conflict(`dedicated AI cluster ${id} changed during the update: retry`);
      if (resize) await this.ctx.capacity.reserve(next, c.unitCount, next.unitCount);
      return { newEtag, w: await this.wr.create(c.compartmentId, "UPDATE_DEDICATED_AI_CLUSTER", "DedicatedAiCluster", id, "IN_PROGRESS") };
    });
    if (!resize) await this.wr.finish(w.id, "SUCCEEDED", "updated");
    else this.ctx.bg.run("cluster resize", () => this.resize(next, w.id));
    return { value: await this.present(next), etag: newEtag, workRequestId: w.id };
  }

  private async resize(c: DedicatedAiCluster, wrId: string): Promise<void> {
    await this.wr.start(wrId, `resizing to ${c.unitCount} units`);
    try {
      const pool = this.pools.get(c.id);
      if (pool) await (await pool).resize((await this.ctx.capacity.units(c.id)).filter((u) => u.index < c.unitCount));
      // units past the new count are freed once their workers have stopped
      await this.ctx.capacity.release(c.id, c.unitCount);
      await this.settle(c.id, wrId, "ACTIVE", "UPDATED", `cluster has ${c.unitCount} units`);
    } catch (e) {
      this.ctx.log.error({ clusterId: c.id, err: String(e) }, "resize failed");
      await this.wr.error(wrId, "ResizeFailed", (e as Error).message);
      // the pool keeps whatever replicas it has; the cluster stays usable (a shrink has stopped its extra workers)
      await this.ctx.capacity.release(c.id, c.unitCount);
      await this.settle(c.id, wrId, "ACTIVE", "FAILED", `resize failed: ${(e as Error).message}`);
    }
  }

  async delete(scope: Scope, id: string, ifMatch?: string): Promise<{ workRequestId: string }> {
    const { value: c, etag } = await fetchVisible((x) => this.ctx.store.clusters.get(x), scope, "dedicated AI cluster", id);
    checkEtag(id, etag, ifMatch);
    if (c.lifecycleState === "DELETED" || c.lifecycleState === "DELETING")
      throw incorrectState(`dedicated AI cluster ${id} is already ${c.lifecycleState}`);
    const endpoints = await this.ctx.store.endpoints.count((e) => e.dedicatedAiClusterId === id && e.lifecycleState !== "DELETED");
    if (endpoints > 0) throw conflict(`dedicated AI cluster ${id} still has ${endpoints} endpoint(s): delete them first`);
    const jobs = await this.fineTunesOn(id);
    if (jobs > 0)
      throw conflict(`dedicated AI cluster ${id} is running or queueing ${jobs} fine-tune job(s): wait for them or cancel them first`);
    const w = await this.wr.create(c.compartmentId, "DELETE_DEDICATED_AI_CLUSTER", "DedicatedAiCluster", id, "IN_PROGRESS");
    if ((await this.ctx.store.clusters.update({ ...c, lifecycleState: "DELETING", timeUpdated: now() }, etag)) === null)
      throw conflict(`dedicated AI cluster ${id} changed during the delete: retry`);
    this.ctx.bg.run("cluster delete", () =>
      this.pools.close(id).finally(() => this.settle(id, w.id, "DELETED", "DELETED", "cluster deleted")),
    );
    return { workRequestId: w.id };
  }

  /** Clusters usable for new work. */
  isLive(c: DedicatedAiCluster): boolean {
    return LIVE(c.lifecycleState);
  }
}
