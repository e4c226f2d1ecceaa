// What every control service shares: the store, the executors, the settings, and helpers for
// compartment scoping, etag checks, pagination tokens and work requests.

import type { Store, Versioned } from "../store/index.ts";
import type { Capacity } from "./capacity.ts";
import type { ControlConfig, Logger } from "./config.ts";
import { badRequest, notFound, preconditionFailed } from "./errors.ts";
import type { FineTuneExecutor, HostingExecutor } from "./executors.ts";
import { now, ocid } from "./ids.ts";
import type {
  DedicatedAiCluster,
  Endpoint,
  Model,
  OperationType,
  WorkRequest,
  WorkRequestResource,
  WorkRequestStatus,
} from "./resources.ts";

export type SprigStore = Store<DedicatedAiCluster, Model, Endpoint, WorkRequest>;

/** Who is asking: the compartments of the caller's API key. */
export interface Scope {
  compartments: readonly string[];
  /** an operator's key: may use the admin view (nodes, capacity, reservations of every compartment) */
  admin?: boolean;
}

/**
 * Work the control plane does after answering (loading models, settling states). Tracked so shutdown can
 * wait for it; once closed, nothing new starts and late results are not written (the next start recovers).
 */
export class Background {
  private readonly tasks = new Set<Promise<unknown>>();
  closed = false;

  constructor(private readonly log: () => Logger) {}

  run(what: string, f: () => unknown): void {
    if (this.closed) return;
    const p = Promise.resolve()
      .then(() => (this.closed ? undefined : f()))
      .catch((e: unknown) => this.log().error({ err: String(e) }, `${what} failed`));
    this.tasks.add(p);
    void p.finally(() => this.tasks.delete(p));
  }

  async drain(): Promise<void> {
    this.closed = true;
    while (this.tasks.size) await Promise.allSettled([...this.tasks]);
  }
}

export interface ControlContext {
  bg: Background;
  store: SprigStore;
  fineTune: FineTuneExecutor;
  hosting: HostingExecutor;
  config: ControlConfig;
  log: Logger;
  /** units reserved on nodes */
  capacity: Capacity;
}

/** Resources carry compartmentId null only when every compartment may read them. */
export function visible(scope: Scope, compartmentId: string | null): boolean {
  return compartmentId === null || scope.compartments.includes(compartmentId);
}

/** The compartment a create names must be one of the key's. */
export function requireCompartment(scope: Scope, compartmentId: string): void {
  if (!scope.compartments.includes(compartmentId)) throw notFound("compartment", compartmentId);
}

/** Compartments to list: the one asked for (if the key has it) or all of the key's. */
export function listCompartments(scope: Scope, compartmentId?: string): string[] {
  if (compartmentId === undefined) return [...scope.compartments];
  requireCompartment(scope, compartmentId);
  return [compartmentId];
}

export function checkEtag(id: string, current: string, ifMatch: string | undefined): void {
  if (ifMatch !== undefined && ifMatch !== "*" && ifMatch !== current) throw preconditionFailed(id);
}

export async function fetchVisible<T extends { compartmentId: string | null; lifecycleState: string }>(
  get: (id: string) => Promise<Versioned<T> | null>,
  scope: Scope,
  what: string,
  id: string,
): Promise<Versioned<T>> {
  const row = await get(id);
  if (!row || !visible(scope, row.value.compartmentId)) throw notFound(what, id);
  return row;
}

// Page tokens are opaque to clients: an offset, encoded so nobody is tempted to do arithmetic on it.
export function decodePage(page: string | undefined): number {
  if (page === undefined) return 0;
  const m = /^o(\d{1,9})$/.exec(Buffer.from(page, "base64url").toString("utf8"));
  if (!m) throw badRequest("page: not a page token from a previous opc-next-page header");
  return Number(m[1]);
}

export function encodePage(offset: number): string {
  return Buffer.from(`o${offset}`, "utf8").toString("base64url");
}

export interface Page<T> {
  items: T[];
  /** token for the next page, absent on the last */
  nextPage?: string;
}

export function page<T>(r: { items: T[]; more: boolean }, offset: number): Page<T> {
  return r.more ? { items: r.items, nextPage: encodePage(offset + r.items.length) } : { items: r.items };
}

const URI: Record<WorkRequestResource["entityType"], string> = {
  DedicatedAiCluster: "/20231130/dedicatedAiClusters/",
  Model: "/20231130/models/",
  Endpoint: "/20231130/endpoints/",
};

/** Work requests: created ACCEPTED, then moved along; every change is persisted at once. */
export class WorkRequests {
  constructor(private readonly ctx: Pick<ControlContext, "store" | "bg">) {}

  async create(
    compartmentId: string | null,
    op: OperationType,
    entityType: WorkRequestResource["entityType"],
    id: string,
    action: WorkRequestResource["actionType"],
  ): Promise<WorkRequest> {
    const wr: WorkRequest = {
      id: ocid("generativeaiworkrequest"),
      compartmentId,
      operationType: op,
      status: "ACCEPTED",
      percentComplete: 0,
      resources: [{ entityType, actionType: action, identifier: id, entityUri: URI[entityType] + id }],
      timeAccepted: now(),
      timeStarted: null,
      timeFinished: null,
    };
    await this.ctx.store.workRequests.insert(wr);
    return wr;
  }

  /** Read, change and write a work request in one transaction (two patches at once must not lose one). */
  private patch(id: string, f: (w: WorkRequest) => void): Promise<WorkRequest | null> {
    if (this.ctx.bg.closed) return Promise.resolve(null);
    return this.ctx.store.tx(async () => {
      const w = await this.ctx.store.workRequests.get(id);
      if (!w) return null;
      f(w);
      await this.ctx.store.workRequests.update(w);
      return w;
    });
  }

  async start(id: string, message?: string): Promise<void> {
    await this.patch(id, (w) => {
      w.status = "IN_PROGRESS";
      w.timeStarted ??= now();
    });
    if (message) await this.log(id, message);
  }

  async progress(id: string, percent: number): Promise<void> {
    await this.patch(id, (w) => {
      w.percentComplete = Math.max(0, Math.min(100, Math.round(percent * 10) / 10));
    });
  }

  async status(id: string, status: WorkRequestStatus): Promise<void> {
    await this.patch(id, (w) => void (w.status = status));
  }

  async finish(id: string, status: "SUCCEEDED" | "FAILED" | "CANCELED", message?: string): Promise<void> {
    if (message) await this.log(id, message);
    await this.patch(id, (w) => {
      w.status = status;
      if (status === "SUCCEEDED") w.percentComplete = 100;
      w.timeFinished = now();
      if (status === "FAILED") for (const r of w.resources) if (r.actionType === "IN_PROGRESS") r.actionType = "FAILED";
    });
  }

  /** Mark the resource entry's action (e.g. CREATED once done). */
  async action(id: string, action: WorkRequestResource["actionType"]): Promise<void> {
    await this.patch(id, (w) => {
      for (const r of w.resources) r.actionType = action;
    });
  }

  async log(id: string, message: string): Promise<void> {
    if (this.ctx.bg.closed) return;
    await this.ctx.store.workRequests.addLog(id, message);
  }

  async error(id: string, code: string, message: string): Promise<void> {
    if (this.ctx.bg.closed) return;
    await this.ctx.store.workRequests.addError(id, code, message);
  }
}
