// The lifecycle of every resource as data: one transition table per resource kind, keyed by state, so a
// state added to an enum without its row fails to compile. Every state change goes through `move`;
// an illegal transition is a bug in the control plane (an assertion), never a user error.

import type { z } from "zod";
import type { JobState } from "../store/index.ts";
import type { SprigStore } from "./context.ts";
import type { ClusterState, EndpointState, ModelState, WorkRequestStatus } from "./resources.ts";

type Table<S extends string> = { readonly [K in S]: readonly S[] };

/**
 * Dedicated AI clusters: created, resized (UPDATING), deleted; start-up settles CREATING/UPDATING/DELETING.
 * NEEDS_ATTENTION (attention.ts): units that cannot run; it clears by itself once they can (ACTIVE), or an
 * operator resizes (UPDATING) or deletes the cluster.
 */
export const CLUSTER_LIFECYCLE: Table<z.infer<typeof ClusterState>> = {
  CREATING: ["ACTIVE", "FAILED", "DELETING", "NEEDS_ATTENTION"],
  ACTIVE: ["UPDATING", "DELETING", "NEEDS_ATTENTION"],
  UPDATING: ["ACTIVE", "FAILED", "DELETING", "NEEDS_ATTENTION"],
  NEEDS_ATTENTION: ["ACTIVE", "UPDATING", "DELETING"],
  DELETING: ["DELETED"],
  DELETED: [],
  FAILED: ["DELETING"],
};

/** Models: a BASE model is registered ACTIVE; a CUSTOM model is CREATING while it trains. */
export const MODEL_LIFECYCLE: Table<z.infer<typeof ModelState>> = {
  CREATING: ["ACTIVE", "FAILED", "DELETING"],
  ACTIVE: ["DELETING"],
  DELETING: ["DELETED"],
  DELETED: [],
  FAILED: ["DELETING"],
};

/** Endpoints: UPDATING while their model is (de)activated in the cluster, INACTIVE when deactivated. */
export const ENDPOINT_LIFECYCLE: Table<z.infer<typeof EndpointState>> = {
  // UPDATING: start-up restores an endpoint whose model was still loading when the server stopped
  CREATING: ["ACTIVE", "FAILED", "DELETING", "UPDATING"],
  ACTIVE: ["UPDATING", "DELETING", "FAILED"],
  INACTIVE: ["UPDATING", "DELETING"],
  UPDATING: ["ACTIVE", "INACTIVE", "FAILED", "DELETING"],
  DELETING: ["DELETED"],
  DELETED: [],
  FAILED: ["UPDATING", "DELETING"],
};

/** Work requests (OCI's statuses). */
export const WORK_REQUEST_LIFECYCLE: Table<z.infer<typeof WorkRequestStatus>> = {
  ACCEPTED: ["IN_PROGRESS", "WAITING", "SUCCEEDED", "FAILED", "CANCELING", "CANCELED"],
  WAITING: ["IN_PROGRESS", "SUCCEEDED", "FAILED", "CANCELING", "CANCELED"],
  IN_PROGRESS: ["WAITING", "SUCCEEDED", "FAILED", "CANCELING", "CANCELED"],
  CANCELING: ["CANCELED", "FAILED", "SUCCEEDED"],
  SUCCEEDED: [],
  FAILED: [],
  CANCELED: [],
};

/** Fine-tune jobs: QUEUED → RUNNING → a final state; a crash or a graceful stop puts a RUNNING job back in the queue. */
export const JOB_LIFECYCLE: Table<JobState> = {
  QUEUED: ["RUNNING", "FAILED", "CANCELED"],
  RUNNING: ["QUEUED", "SUCCEEDED", "FAILED", "CANCELED"],
  SUCCEEDED: [],
  FAILED: [],
  CANCELED: [],
};

export const LIFECYCLES = {
  DedicatedAiCluster: CLUSTER_LIFECYCLE,
  Model: MODEL_LIFECYCLE,
  Endpoint: ENDPOINT_LIFECYCLE,
  WorkRequest: WORK_REQUEST_LIFECYCLE,
  FineTuneJob: JOB_LIFECYCLE,
} as const;
export type LifecycleKind = keyof typeof LIFECYCLES;
type StateOf<K extends LifecycleKind> = keyof (typeof LIFECYCLES)[K] & string;

/** The states a new resource may start in. */
export const INITIAL: { readonly [K in LifecycleKind]: readonly StateOf<K>[] } = {
  DedicatedAiCluster: ["CREATING"],
  // a BASE model is registered ready to serve; a CUSTOM one starts training
  Model: ["CREATING", "ACTIVE"],
  Endpoint: ["CREATING"],
  WorkRequest: ["ACCEPTED"],
  FineTuneJob: ["QUEUED"],
};

/** A transition the tables do not allow: the control plane tried something it must never do. */
export class IllegalTransitionError extends Error {
  override name = "IllegalTransitionError";
}

/** May a `kind` go from `from` to `to`? Staying in the same state is always allowed (a detail changed). */
export function canMove<K extends LifecycleKind>(kind: K, from: StateOf<K>, to: StateOf<K>): boolean {
  if (from === to) return true;
  const table = LIFECYCLES[kind] as unknown as Record<string, readonly string[]>;
  return (table[from] ?? []).includes(to);
}

/** Assert the transition and return the next state; every change of a resource's state calls this. */
export function move<K extends LifecycleKind>(kind: K, id: string, from: StateOf<K>, to: StateOf<K>): StateOf<K> {
  if (!canMove(kind, from, to)) throw new IllegalTransitionError(`${kind} ${id}: ${from} → ${to} is not a transition of its lifecycle`);
  return to;
}

/** Assert that a new `kind` starts in one of its initial states. */
export function enter<K extends LifecycleKind>(kind: K, id: string, state: StateOf<K>): StateOf<K> {
  if (!(INITIAL[kind] as readonly string[]).includes(state)) throw new IllegalTransitionError(`${kind} ${id}: cannot start in ${state}`);
  return state;
}

/**
 * Make every write of the store go through the tables: inserts must start in an initial state and
 * updates must follow a transition (the store calls these guards; it knows nothing of lifecycles).
 */
export function guardLifecycles(store: SprigStore): void {
  const check =
    <K extends LifecycleKind>(kind: K, state: (v: never) => string) =>
    (prev: unknown, next: unknown) => {
      const id = (next as { id: string }).id;
      if (prev === null) enter(kind, id, state(next as never) as StateOf<K>);
      else move(kind, id, state(prev as never) as StateOf<K>, state(next as never) as StateOf<K>);
    };
  store.clusters.guard = check("DedicatedAiCluster", (v: { lifecycleState: string }) => v.lifecycleState);
  store.models.guard = check("Model", (v: { lifecycleState: string }) => v.lifecycleState);
  store.endpoints.guard = check("Endpoint", (v: { lifecycleState: string }) => v.lifecycleState);
  store.workRequests.guard = check("WorkRequest", (v: { status: string }) => v.status);
  store.fineTunes.guard = (id, prev, next) => {
    if (prev === null) enter("FineTuneJob", id, next);
    else move("FineTuneJob", id, prev, next);
  };
}

/** States with no way out. */
export function isFinal<K extends LifecycleKind>(kind: K, state: StateOf<K>): boolean {
  return (LIFECYCLES[kind] as unknown as Record<string, readonly string[]>)[state]?.length === 0;
}
