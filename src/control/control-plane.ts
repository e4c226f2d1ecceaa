// The control plane: one object the API talks to. It wires the services, registers the embedded node and
// the default base model, recovers every resource after a restart (nothing stays CREATING, reservations
// match the clusters), and shuts down cleanly.

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { guardLifecycles } from "./lifecycle.ts";
import { attentionResolved, needsAttention } from "./attention.ts";
import { Capacity, type CapacityView } from "./capacity.ts";
import { Clusters } from "./clusters.ts";
import { type ControlConfigInput, ControlConfigSchema, type Logger, silentLogger } from "./config.ts";
import {
  type ControlContext,
  type Page,
  type Scope,
  type SprigStore,
  Background,
  WorkRequests,
  decodePage,
  fetchVisible,
  listCompartments,
  page,
} from "./context.ts";
import { Endpoints } from "./endpoints.ts";
import { ServiceError, badRequest, notFound } from "./errors.ts";
import type { FineTuneExecutor, HostingExecutor } from "./executors.ts";
import { FineTunes } from "./fine-tunes.ts";
import { Idempotency } from "./idempotency.ts";
import { CompartmentMoves } from "./compartment-moves.ts";
import { DatasetCheck } from "./dataset-check.ts";
import { Inference, type InferenceCounters } from "./inference.ts";
import { Models } from "./models.ts";
import { type LocalNodeSettings, localNode } from "./nodes.ts";
import { Pools } from "./pools.ts";
import type { ListQuery } from "./requests.ts";
import type { WorkRequest } from "./resources.ts";
import type { FineTuneEvent, MetricsPoint, WorkRequestEntry } from "../store/index.ts";
import { formatIssues } from "../errors/index.ts";
import type { z } from "zod";
import {
  type NodeLossHooks,
  NodeLossMonitor,
  MultiNodeSettingsSchema,
  type SchedulerLease,
  isLive,
  schedulerLease,
} from "./multi-node/index.ts";

export interface ControlPlaneOptions {
  store: SprigStore;
  fineTune: FineTuneExecutor;
  hosting: HostingExecutor;
  config?: ControlConfigInput;
  log?: Logger;
  counters?: InferenceCounters;
  /** the embedded node's capacity settings (default: this machine's cores and memory, pinned where possible) */
  node?: LocalNodeSettings;
  /**
   * An API node of a multi-node service (`sprig serve --role api`): it is not a node itself — units go to
   * worker nodes that heartbeat — and it declares silent nodes lost and moves their units (multi-node/).
   */
  multiNode?: { settings?: z.input<typeof MultiNodeSettingsSchema>; hooks?: NodeLossHooks };
  /** who launches fine-tunes (default: the store's — a PostgreSQL advisory lock one API node holds; always this process on SQLite) */
  schedulerLease?: SchedulerLease;
}

export class ControlPlane {
  readonly clusters: Clusters;
  readonly models: Models;
  readonly endpoints: Endpoints;
  readonly fineTunes: FineTunes;
  readonly inference: Inference;
  /** checks training data with the reader a fine-tune uses, before anything trains */
  readonly datasets: DatasetCheck;
  /** opc-retry-token answers of creates */
  readonly idempotency: Idempotency;
  /** Change…Compartment actions */
  readonly moves: CompartmentMoves;
  readonly store: SprigStore;
  /** an API node's node-loss checks (null when embedded: the one node is this process) */
  readonly nodeLoss: NodeLossMonitor | null;
  private readonly ctx: ControlContext;
  private readonly wr: WorkRequests;
  private readonly pools: Pools;
  private readonly nodeSettings: LocalNodeSettings | undefined;

  constructor(o: ControlPlaneOptions) {
    const parsed = ControlConfigSchema.safeParse(o.config ?? {});
    if (!parsed.success) throw new Error(`invalid control configuration: ${formatIssues(parsed.error.issues, { whole: "config" })}`);
    const multiNode = o.multiNode ? MultiNodeSettingsSchema.parse(o.multiNode.settings ?? {}) : null;
    const capacity = new Capacity(
      o.store.nodes,
      async (id) => (await o.store.clusters.get(id))?.value ?? null,
      multiNode ? (n) => isLive(n, Date.now(), multiNode.nodeTimeoutMs) : undefined,
    );
    this.ctx = {
      bg: new Background(() => this.ctx.log),
      store: o.store,
      fineTune: o.fineTune,
      hosting: o.hosting,
      config: parsed.data,
      log: o.log ?? silentLogger,
      capacity,
    };
    this.store = o.store;
    guardLifecycles(o.store);
    this.nodeSettings = o.node;
    this.wr = new WorkRequests(this.ctx);
    this.pools = new Pools(o.hosting, capacity);
    // the lease logs through the server's logger once it exists
    const log: Logger = {
      info: (x, m) => this.ctx.log.info(x, m),
      warn: (x, m) => this.ctx.log.warn(x, m),
      error: (x, m) => this.ctx.log.error(x, m),
    };
    this.fineTunes = new FineTunes(this.ctx, this.wr, o.schedulerLease ?? schedulerLease(o.store, { log }));
    this.clusters = new Clusters(
      this.ctx,
      this.wr,
      this.pools,
      (id) => this.fineTunes.onCluster(id),
      (id) => this.fineTunes.busyUnits(id),
    );
    this.models = new Models(
      this.ctx,
      this.wr,
      (s, d) => this.fineTunes.create(s, d),
      (id) => this.fineTunes.cancel(id),
    );
    this.endpoints = new Endpoints(this.ctx, this.wr, this.pools, (id) => this.inference.usage.forget(id), multiNode !== null);
    this.inference = new Inference(this.endpoints, this.pools, o.counters);
    this.datasets = new DatasetCheck(this.ctx);
    this.moves = new CompartmentMoves(this.ctx, this.wr);
    this.nodeLoss = multiNode ? new NodeLossMonitor(this.ctx, this.pools, multiNode, o.multiNode?.hooks) : null;
    this.idempotency = new Idempotency(o.store.retryTokens, parsed.data.retryTokenRetentionHours * 3_600_000);
  }

  get config() {
    return this.ctx.config;
  }

  /** Log through the server's logger once it exists. */
  setLogger(log: Logger): void {
    this.ctx.log = log;
  }

  /**
   * Start-up: register the default base model, settle resources left mid-change by a stop or crash,
   * resume fine-tunes and bring ACTIVE endpoints back. Resolves once endpoints are being restored (not loaded).
   */
  async start(): Promise<void> {
    if (this.nodeLoss)
      this.ctx.log.info({ nodeTimeoutMs: this.nodeLoss.settings.nodeTimeoutMs }, "API node: units run on the registered worker nodes");
    else {
      const node = await this.store.nodes.upsert(localNode(this.nodeSettings));
      this.ctx.log.info(
        { nodeId: node.id, cores: node.cores, memoryBytes: node.memoryBytes, pinning: node.pinning },
        "registered the embedded node",
      );
      if (!node.pinning.enabled) this.ctx.log.warn({ reason: node.pinning.reason }, "units will not be pinned to their cores");
    }
    const dir = this.ctx.config.defaultBaseModelDir;
    if (dir && existsSync(resolve(dir, "config.json")) && !(await this.models.globalBase(resolve(dir)))) {
      const m = await this.models.registerBase(resolve(dir), null, { vendor: "sprig" });
      this.ctx.log.info({ modelId: m.id, dir: m.artifactPath }, "registered the default base model");
    }
    await this.recoverWorkRequests();
    const s = this.store;
    for (const c of await s.clusters.inStates(["CREATING", "UPDATING"])) await s.clusters.update({ ...c, lifecycleState: "ACTIVE" });
    for (const c of await s.clusters.inStates(["DELETING"])) await s.clusters.update({ ...c, lifecycleState: "DELETED" });
    await this.repairReservations();
    for (const m of await s.models.inStates(["DELETING"])) await s.models.update({ ...m, lifecycleState: "DELETED" });
    // a CREATING model without a job can only be a half-registered one: nothing to resume
    for (const m of await s.models.inStates(["CREATING"]))
      if (!(await s.fineTunes.job(m.id)))
        await s.models.update({ ...m, lifecycleState: "FAILED", lifecycleDetails: "the server stopped while the model was being created" });
    for (const e of await s.endpoints.inStates(["DELETING"])) this.ctx.bg.run("endpoint delete", () => this.endpoints.tearDown(e, null));
    // UPDATING endpoints were being toggled; their work request says which way
    const toggled = new Map(
      (await s.workRequests.unfinished()).flatMap((w) => w.resources.map((r) => [r.identifier, w.operationType] as const)),
    );
    for (const e of await s.endpoints.inStates(["UPDATING"])) {
      if (toggled.get(e.id) === "DEACTIVATE_ENDPOINT") await s.endpoints.update({ ...e, lifecycleState: "INACTIVE" });
    }
    await this.fineTunes.recover();
    // an API node of several machines leaves ACTIVE endpoints as they are (other API nodes serve them; this
    // one attaches on their first request) and finishes only those left mid-change
    const restore = await s.endpoints.inStates(this.nodeLoss ? ["CREATING", "UPDATING"] : ["ACTIVE", "CREATING", "UPDATING"]);
    for (const e of restore) {
      this.ctx.log.info({ endpointId: e.id }, "restoring endpoint");
      // not ACTIVE until its model is loaded again, so requests get a clear 409 rather than a miss
      await s.endpoints.update({ ...e, lifecycleState: "UPDATING", lifecycleDetails: "restoring after a restart" });
      this.ctx.bg.run("endpoint restore", () => this.endpoints.bringUp(e.id, null, "CREATE_ENDPOINT"));
    }
    this.nodeLoss?.start();
  }

  /** Reservations follow the clusters: freed for clusters gone, placed for units that lack one (with the reason when no room). */
  private async repairReservations(): Promise<void> {
    const s = this.store;
    await s.tx(async () => {
      const live = await s.clusters.inStates(["CREATING", "ACTIVE", "UPDATING", "NEEDS_ATTENTION", "DELETING"]);
      const short = new Map((await this.ctx.capacity.repair(live)).map((x) => [x.clusterId, x]));
      for (const c of live) {
        const miss = short.get(c.id);
        if (miss) {
          this.ctx.log.warn({ clusterId: c.id, missing: miss.missing }, "cluster units without room");
          const note = `${miss.missing} of ${c.unitCount} units have no reserved cores and do not run: ${miss.reason}. Free cores on a node and restart, or resize the cluster to fewer units`;
          if (c.lifecycleState === "DELETING") continue;
          await needsAttention(this.ctx, c.id, note);
        } else if (c.lifecycleState === "NEEDS_ATTENTION" && c.lifecycleDetails?.includes("have no reserved cores"))
          await attentionResolved(this.ctx, c.id);
      }
    });
  }

  /** The operator's view of nodes, their capacity and reservations: admin keys only (`sprig node list` reads the data directory). */
  async capacityView(scope: Scope): Promise<CapacityView> {
    if (!scope.admin)
      throw new ServiceError(
        404,
        "NotAuthorizedOrNotFound",
        "the admin view needs an admin API key: create one on the server's machine with `npx sprig key create --admin`",
      );
    return this.ctx.capacity.view();
  }

  /** Unfinished work requests of operations that do not resume are closed with the reason. */
  private async recoverWorkRequests(): Promise<void> {
    for (const w of await this.store.workRequests.unfinished()) {
      if (w.operationType === "CREATE_MODEL" && (await this.store.fineTunes.job(w.resources[0]!.identifier))) continue;
      const ok = w.operationType !== "CREATE_MODEL";
      await this.wr.finish(
        w.id,
        ok ? "SUCCEEDED" : "FAILED",
        `the server restarted during the operation; ${ok ? "it was completed at start-up" : "it did not complete"}`,
      );
    }
  }

  // --- work requests ---

  async getWorkRequest(scope: Scope, id: string): Promise<WorkRequest> {
    const w = await this.store.workRequests.get(id);
    if (!w || w.compartmentId === null || !scope.compartments.includes(w.compartmentId)) throw notFound("work request", id);
    return w;
  }

  async listWorkRequests(scope: Scope, q: ListQuery): Promise<Page<WorkRequest>> {
    const offset = decodePage(q.page);
    const r = await this.store.workRequests.list({
      compartmentIds: listCompartments(scope, q.compartmentId),
      resourceId: q.resourceId,
      operationType: q.operationType,
      status: q.status,
      limit: q.limit,
      offset,
    });
    return page(r, offset);
  }

  async workRequestErrors(scope: Scope, id: string, q: ListQuery): Promise<Page<WorkRequestEntry>> {
    await this.getWorkRequest(scope, id);
    const offset = decodePage(q.page);
    return page(await this.store.workRequests.errors(id, q.limit, offset), offset);
  }

  async workRequestLogs(scope: Scope, id: string, q: ListQuery): Promise<Page<WorkRequestEntry>> {
    await this.getWorkRequest(scope, id);
    const offset = decodePage(q.page);
    return page(await this.store.workRequests.logs(id, q.limit, offset), offset);
  }

  /** Cancel a work request: only fine-tunes (CREATE_MODEL in progress) can be canceled. */
  async cancelWorkRequest(scope: Scope, id: string): Promise<void> {
    const w = await this.getWorkRequest(scope, id);
    if (w.operationType !== "CREATE_MODEL" || !(await this.store.fineTunes.job(w.resources[0]!.identifier)))
      throw badRequest(`work request ${id} is a ${w.operationType}; only fine-tunes (CREATE_MODEL of a CUSTOM model) can be canceled`);
    await this.fineTunes.cancel(w.resources[0]!.identifier);
  }

  // --- fine-tune history (beyond OCI) ---

  async fineTuneMetrics(scope: Scope, modelId: string): Promise<MetricsPoint[]> {
    await fetchVisible((x) => this.store.models.get(x), scope, "model", modelId);
    return this.store.fineTunes.metrics(modelId);
  }

  async fineTuneEvents(scope: Scope, modelId: string, q: ListQuery): Promise<Page<FineTuneEvent>> {
    await fetchVisible((x) => this.store.models.get(x), scope, "model", modelId);
    const offset = decodePage(q.page);
    return page(await this.store.fineTunes.events(modelId, q.limit, offset), offset);
  }

  /** Stop workers and pools; running fine-tunes resume at the next start. */
  async close(): Promise<void> {
    await this.nodeLoss?.stop();
    this.ctx.bg.closed = true;
    await this.fineTunes.close();
    await this.pools.closeAll();
    await this.ctx.bg.drain();
  }
}
