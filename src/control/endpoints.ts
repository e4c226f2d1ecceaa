// Endpoints: a model served on a HOSTING cluster. Creating one starts the cluster's pool if needed and
// activates the model in it; deactivate/activate toggle serving without unloading the base weights.
// Rules: one base model per cluster (custom models must derive from it) and a capacity per cluster.

import { attentionResolved, needsAttention } from "./attention.ts";
import type { Mutation } from "./clusters.ts";
import type { ControlContext, Page, Scope, WorkRequests } from "./context.ts";
import { checkEtag, decodePage, fetchVisible, listCompartments, page, requireCompartment } from "./context.ts";
import { conflict, incorrectState, notFound } from "./errors.ts";
import { ExecutorError, type HostingPool, type ServedModel } from "./executors.ts";
import { checkEndpointCapacity } from "./endpoint-capacity.ts";
import { commonFields, now, ocid } from "./ids.ts";
import type { Pools } from "./pools.ts";
import type { CreateEndpointDetails, ListQuery, UpdateEndpointDetails } from "./requests.ts";
import type { DedicatedAiCluster, Endpoint, Model, OperationType } from "./resources.ts";

/** How long, and how often, a load is retried after its worker node went away (several machines). */
const RETRY_NODE_MS = 120_000;
const RETRY_EVERY_MS = 2_000;

/** A failure that means the worker node went away (its units get placed elsewhere), not a bad model. */
const nodeWentAway = (err: unknown): boolean =>
  err instanceof ExecutorError && ["node_unreachable", "node_lost", "node_unknown", "no_node"].includes(err.reason);

/** The stored form: OCI's default mode (INFORM) made explicit. */
const moderation = (c: CreateEndpointDetails["contentModerationConfig"]): Endpoint["contentModerationConfig"] =>
  c ? { isEnabled: c.isEnabled, mode: c.mode ?? "INFORM" } : null;

export class Endpoints {
  /** endpoints this API node activated in its pool (several machines): the pool they were activated in */
  private readonly attached = new Map<string, { pool: Promise<HostingPool>; ready: Promise<HostingPool> }>();

  constructor(
    private readonly ctx: ControlContext,
    private readonly wr: WorkRequests,
    private readonly pools: Pools,
    /** told once an endpoint is DELETED (its usage counters are dropped) */
    private readonly onDeleted: (endpointId: string) => void = () => undefined,
    /** an API node of several machines: any API node serves any endpoint, attaching on its first request */
    private readonly attachOnRequest = false,
  ) {}

  private get store() {
    return this.ctx.store;
  }

  async create(scope: Scope, d: CreateEndpointDetails): Promise<Mutation<Endpoint>> {
    requireCompartment(scope, d.compartmentId);
    const { value: cluster } = await fetchVisible((x) => this.store.clusters.get(x), scope, "dedicated AI cluster", d.dedicatedAiClusterId);
    const { value: model } = await fetchVisible((x) => this.store.models.get(x), scope, "model", d.modelId);
    if (cluster.type !== "HOSTING")
      throw conflict(`dedicatedAiClusterId: cluster ${cluster.id} is a ${cluster.type} cluster; endpoints need a HOSTING cluster`);
    // a NEEDS_ATTENTION cluster takes endpoints: creating one retries starting its hosting units
    if (cluster.lifecycleState !== "ACTIVE" && cluster.lifecycleState !== "NEEDS_ATTENTION")
      throw incorrectState(
        `dedicatedAiClusterId: cluster ${cluster.id} is ${cluster.lifecycleState}; it must be ACTIVE${cluster.lifecycleDetails ? ` (${cluster.lifecycleDetails})` : ""}`,
      );
    if (model.lifecycleState !== "ACTIVE") throw incorrectState(`modelId: model ${model.id} is ${model.lifecycleState}; it must be ACTIVE`);
    const t = now();
    const e: Endpoint = {
      ...commonFields(ocid("generativeaiendpoint"), d, `endpoint-${model.displayName}`.slice(0, 255), null, t),
      modelId: model.id,
      dedicatedAiClusterId: cluster.id,
      contentModerationConfig: moderation(d.contentModerationConfig),
      lifecycleState: "CREATING",
    };
    // the base-model and capacity checks and the insert are one transaction, so two racing creates
    // cannot both take the last slot or pin two different bases (the cluster's row is locked until the end)
    const w = await this.store.tx(async () => {
      const c = (await this.store.clusters.getForUpdate(cluster.id))!;
      const base = c.value.baseModelId;
      if (base !== null && base !== model.rootBaseModelId)
        throw conflict(
          `modelId: cluster ${cluster.id} hosts base model ${base} and models derived from it; model ${model.id} derives from ${model.rootBaseModelId}. Use another HOSTING cluster`,
        );
      const others: Endpoint[] = [];
      const used = await this.store.endpoints.count((x) => {
        const mine = x.dedicatedAiClusterId === cluster.id && x.lifecycleState !== "DELETED";
        if (mine) others.push(x);
        return mine;
      });
      const total = this.ctx.config.endpointCapacityPerCluster;
      if (used >= total)
        throw conflict(
          `dedicatedAiClusterId: cluster ${cluster.id} is full (${used} of ${total} endpoints); delete an endpoint or use another cluster`,
        );
      const root = (await this.store.models.get(model.rootBaseModelId))?.value;
      if (root) {
        const models = (await Promise.all(others.map(async (x) => (await this.store.models.get(x.modelId))?.value))).filter(
          (m): m is Model => m !== undefined,
        );
        checkEndpointCapacity(cluster.id, c.value.unitShape, root, models, model);
      }
      if (base === null) await this.store.clusters.update({ ...c.value, baseModelId: model.rootBaseModelId, timeUpdated: t });
      await this.store.endpoints.insert(e);
      return this.wr.create(e.compartmentId, "CREATE_ENDPOINT", "Endpoint", e.id, "IN_PROGRESS");
    });
    this.ctx.bg.run("endpoint create", () => this.bringUp(e.id, w.id, "CREATE_ENDPOINT"));
    const row = (await this.store.endpoints.get(e.id))!;
    return { value: row.value, etag: row.etag, workRequestId: w.id };
  }

  /**
   * The pool that serves ACTIVE endpoint `e` (undefined: none runs). Several machines: another API node may
   * have loaded the endpoint, so on its first request here this node sets up its view of the cluster's pool
   * (idempotent on the worker nodes that hold the units) and activates the endpoint in it. Whether the
   * endpoint serves is the store's state, checked on every request by the caller, never this node's memory.
   */
  poolFor(e: Endpoint): Promise<HostingPool> | undefined {
    const running = this.pools.get(e.dedicatedAiClusterId);
    if (!this.attachOnRequest) return running;
    const had = this.attached.get(e.id);
    if (had && running === had.pool) return had.ready;
    const pool = running ?? this.startPool(e);
    const ready = pool.then(async (p) => {
      const model = (await this.store.models.get(e.modelId))?.value;
      if (!model) throw new Error(`model ${e.modelId} is gone`);
      await p.activate(e.id, this.served(model));
      return p;
    });
    const entry = { pool, ready };
    this.attached.set(e.id, entry);
    ready.catch(() => this.attached.get(e.id) === entry && this.attached.delete(e.id));
    return ready;
  }

  private async startPool(e: Endpoint): Promise<HostingPool> {
    const cluster = (await this.store.clusters.get(e.dedicatedAiClusterId))?.value;
    const model = (await this.store.models.get(e.modelId))?.value;
    const base = model && (await this.store.models.get(model.rootBaseModelId))?.value;
    if (!cluster || !base?.artifactPath) throw new Error(`the cluster or the base model of endpoint ${e.id} is gone`);
    return this.pools.ensure(cluster, base.artifactPath);
  }

  /** The model as the pool serves it. */
  served(model: Model): ServedModel {
    if (model.type === "BASE") return { kind: "base" };
    return model.artifactType === "ADAPTER" ? { kind: "adapter", dir: model.artifactPath! } : { kind: "full", dir: model.artifactPath! };
  }

  /**
   * Start the pool if needed and activate the endpoint's model in it; ACTIVE on success, FAILED otherwise.
   * Several machines: a load that fails because its worker node went away (a 503: unreachable, lost) is
   * tried again while the node-loss check places the units elsewhere, up to RETRY_NODE_MS.
   */
  async bringUp(id: string, wrId: string | null, op: OperationType): Promise<void> {
    if (wrId) await this.wr.start(wrId, "loading the model into the cluster");
    const e = (await this.store.endpoints.get(id))?.value;
    if (!e) return;
    const t0 = Date.now();
    for (;;) {
      try {
        await this.load(e);
        await this.setState(id, "ACTIVE", null);
        if (wrId) {
          await this.wr.action(wrId, op === "CREATE_ENDPOINT" ? "CREATED" : "UPDATED");
          await this.wr.finish(wrId, "SUCCEEDED", "endpoint is serving");
        }
        return;
      } catch (err) {
        const msg = (err as Error).message;
        if (this.attachOnRequest && nodeWentAway(err) && Date.now() - t0 < RETRY_NODE_MS && !this.ctx.bg.closed) {
          this.ctx.log.warn({ endpointId: id, err: msg }, "endpoint load failed on a node that went away: retrying");
          if (wrId) await this.wr.log(wrId, `${msg}; retrying once the units are placed on a live node`);
          await new Promise((res) => setTimeout(res, RETRY_EVERY_MS));
          continue;
        }
        this.ctx.log.error({ endpointId: id, err: msg }, "endpoint activation failed");
        await this.setState(id, "FAILED", `activation failed: ${msg}`);
        if (wrId) {
          await this.wr.error(wrId, "ActivationFailed", msg);
          await this.wr.finish(wrId, "FAILED");
        }
        return;
      }
    }
  }

  /** Start the cluster's pool if needed and activate `e`'s model in it. */
  private async load(e: Endpoint): Promise<void> {
    const cluster = (await this.store.clusters.get(e.dedicatedAiClusterId))!.value;
    const model = (await this.store.models.get(e.modelId))?.value;
    if (!model || model.lifecycleState !== "ACTIVE") throw new Error(`model ${e.modelId} is no longer ACTIVE`);
    const base = (await this.store.models.get(model.rootBaseModelId))?.value;
    if (!base?.artifactPath) throw new Error(`base model ${model.rootBaseModelId} is gone`);
    let pool;
    try {
      pool = await this.pools.ensure(cluster, base.artifactPath);
    } catch (err) {
      // the endpoint fails, and so would every other one: the cluster's units need an operator
      if (!(this.attachOnRequest && nodeWentAway(err)))
        await needsAttention(
          this.ctx,
          cluster.id,
          `the cluster's hosting units could not be started: ${(err as Error).message}. Fix the cause (free cores or memory on the node, see the server's log), then create the endpoint again (that retries starting the units) or resize the cluster`,
        );
      throw err;
    }
    await attentionResolved(this.ctx, cluster.id);
    await pool.activate(e.id, this.served(model));
    const p = this.pools.get(cluster.id);
    if (this.attachOnRequest && p) this.attached.set(e.id, { pool: p, ready: p });
  }

  private async setState(id: string, state: Endpoint["lifecycleState"], details: string | null): Promise<void> {
    if (this.ctx.bg.closed) return;
    await this.store.tx(async () => {
      const row = await this.store.endpoints.getForUpdate(id);
      if (row) await this.store.endpoints.update({ ...row.value, lifecycleState: state, lifecycleDetails: details, timeUpdated: now() });
    });
  }

  get(scope: Scope, id: string): Promise<{ value: Endpoint; etag: string }> {
    return fetchVisible((x) => this.store.endpoints.get(x), scope, "endpoint", id);
  }

  async list(scope: Scope, q: ListQuery): Promise<Page<Endpoint>> {
    const offset = decodePage(q.page);
    const r = await this.store.endpoints.list({
      compartmentIds: listCompartments(scope, q.compartmentId),
      lifecycleState: q.lifecycleState,
      displayName: q.displayName,
      where: (x) => {
        const e = x as Endpoint;
        return (!q.dedicatedAiClusterId || e.dedicatedAiClusterId === q.dedicatedAiClusterId) && (!q.modelId || e.modelId === q.modelId);
      },
      sortBy: q.sortBy,
      sortOrder: q.sortOrder,
      limit: q.limit,
      offset,
    });
    return page(r, offset);
  }

  async update(scope: Scope, id: string, d: UpdateEndpointDetails, ifMatch?: string): Promise<Mutation<Endpoint>> {
    const { value: e, etag } = await this.get(scope, id);
    checkEtag(id, etag, ifMatch);
    if (e.lifecycleState === "DELETED" || e.lifecycleState === "DELETING") throw incorrectState(`endpoint ${id} is ${e.lifecycleState}`);
    const next: Endpoint = {
      ...e,
      displayName: d.displayName ?? e.displayName,
      description: d.description ?? e.description,
      contentModerationConfig: d.contentModerationConfig ? moderation(d.contentModerationConfig) : e.contentModerationConfig,
      freeformTags: d.freeformTags ?? e.freeformTags,
      definedTags: d.definedTags ?? e.definedTags,
      timeUpdated: now(),
    };
    const newEtag = await this.store.endpoints.update(next, etag);
    if (newEtag === null) throw conflict(`endpoint ${id} changed during the update: retry`);
    const w = await this.wr.create(e.compartmentId, "UPDATE_ENDPOINT", "Endpoint", id, "UPDATED");
    await this.wr.finish(w.id, "SUCCEEDED", "updated");
    return { value: next, etag: newEtag, workRequestId: w.id };
  }

  /** Stop serving (in-flight requests finish); the endpoint keeps its slot and can be activated again. */
  deactivate(scope: Scope, id: string, ifMatch?: string): Promise<Mutation<Endpoint>> {
    return this.toggle(scope, id, ifMatch, "DEACTIVATE_ENDPOINT");
  }

  activate(scope: Scope, id: string, ifMatch?: string): Promise<Mutation<Endpoint>> {
    return this.toggle(scope, id, ifMatch, "ACTIVATE_ENDPOINT");
  }

  private async toggle(
    scope: Scope,
    id: string,
    ifMatch: string | undefined,
    op: "ACTIVATE_ENDPOINT" | "DEACTIVATE_ENDPOINT",
  ): Promise<Mutation<Endpoint>> {
    const { value: e, etag } = await this.get(scope, id);
    checkEtag(id, etag, ifMatch);
    const from = op === "ACTIVATE_ENDPOINT" ? "INACTIVE" : "ACTIVE";
    if (e.lifecycleState !== from)
      throw incorrectState(
        `endpoint ${id} is ${e.lifecycleState}; ${op === "ACTIVATE_ENDPOINT" ? "activate" : "deactivate"} needs it ${from}`,
      );
    const next: Endpoint = { ...e, lifecycleState: "UPDATING", timeUpdated: now() };
    const newEtag = await this.store.endpoints.update(next, etag);
    if (newEtag === null) throw conflict(`endpoint ${id} changed meanwhile: retry`);
    const w = await this.wr.create(e.compartmentId, op, "Endpoint", id, "IN_PROGRESS");
    if (op === "ACTIVATE_ENDPOINT") this.ctx.bg.run("endpoint activate", () => this.bringUp(id, w.id, op));
    else this.ctx.bg.run("endpoint deactivate", () => this.bringDown(id, w.id));
    return { value: next, etag: newEtag, workRequestId: w.id };
  }

  private async bringDown(id: string, wrId: string): Promise<void> {
    await this.wr.start(wrId);
    const e = (await this.store.endpoints.get(id))!.value;
    // activated again (by any API node), it is attached here again on its next request
    this.attached.delete(id);
    try {
      const pool = this.pools.get(e.dedicatedAiClusterId);
      if (pool) await (await pool).deactivate(id, { cancelInFlight: false });
      await this.setState(id, "INACTIVE", null);
      await this.wr.action(wrId, "UPDATED");
      await this.wr.finish(wrId, "SUCCEEDED", "endpoint deactivated");
    } catch (err) {
      await this.setState(id, "FAILED", `deactivation failed: ${(err as Error).message}`);
      await this.wr.error(wrId, "DeactivationFailed", (err as Error).message);
      await this.wr.finish(wrId, "FAILED");
    }
  }

  async delete(scope: Scope, id: string, ifMatch?: string): Promise<{ workRequestId: string }> {
    const { value: e, etag } = await this.get(scope, id);
    checkEtag(id, etag, ifMatch);
    if (e.lifecycleState === "DELETED" || e.lifecycleState === "DELETING")
      throw incorrectState(`endpoint ${id} is already ${e.lifecycleState}`);
    if ((await this.store.endpoints.update({ ...e, lifecycleState: "DELETING", timeUpdated: now() }, etag)) === null)
      throw conflict(`endpoint ${id} changed meanwhile: retry`);
    const w = await this.wr.create(e.compartmentId, "DELETE_ENDPOINT", "Endpoint", id, "IN_PROGRESS");
    this.ctx.bg.run("endpoint delete", () => this.tearDown(e, w.id));
    return { workRequestId: w.id };
  }

  /** Deactivate (cancelling in-flight requests), mark DELETED, and free the cluster when it is empty. */
  async tearDown(e: Endpoint, wrId: string | null): Promise<void> {
    this.attached.delete(e.id);
    const pool = this.pools.get(e.dedicatedAiClusterId);
    try {
      if (pool) await (await pool).deactivate(e.id, { cancelInFlight: true });
    } catch (err) {
      this.ctx.log.warn({ endpointId: e.id, err: String(err) }, "deactivate during delete failed");
    }
    await this.setState(e.id, "DELETED", null);
    this.onDeleted(e.id);
    if (this.ctx.bg.closed) return;
    const empty = await this.store.tx(async () => {
      const c = await this.store.clusters.getForUpdate(e.dedicatedAiClusterId);
      const left = await this.store.endpoints.count(
        (x) => x.dedicatedAiClusterId === e.dedicatedAiClusterId && x.lifecycleState !== "DELETED",
      );
      // an empty cluster forgets its base model, so it can host another one
      if (left === 0 && c) await this.store.clusters.update({ ...c.value, baseModelId: null, timeUpdated: now() });
      return left === 0;
    });
    if (empty) await this.pools.close(e.dedicatedAiClusterId);
    if (wrId) {
      await this.wr.action(wrId, "DELETED");
      await this.wr.finish(wrId, "SUCCEEDED", "endpoint deleted");
    }
  }

  /** Endpoints by id, or by display name in the caller's compartments (OpenAI's `model` field). */
  async resolve(scope: Scope, idOrName: string): Promise<Endpoint> {
    const byId = await this.store.endpoints.get(idOrName);
    if (
      byId &&
      byId.value.compartmentId !== null &&
      scope.compartments.includes(byId.value.compartmentId) &&
      byId.value.lifecycleState !== "DELETED"
    )
      return byId.value;
    // DELETED ones are filtered before the limit: any number of deleted namesakes leaves the live one found
    const named = (
      await this.store.endpoints.list({
        compartmentIds: scope.compartments,
        displayName: idOrName,
        where: (x) => (x as Endpoint).lifecycleState !== "DELETED",
        limit: 2,
        offset: 0,
      })
    ).items;
    if (named.length === 1) return named[0]!;
    if (named.length > 1) throw conflict(`model: several endpoints are named '${idOrName}'; use the endpoint id`);
    throw notFound("endpoint", idOrName);
  }

  async cluster(e: Endpoint): Promise<DedicatedAiCluster | null> {
    return (await this.store.clusters.get(e.dedicatedAiClusterId))?.value ?? null;
  }
}
