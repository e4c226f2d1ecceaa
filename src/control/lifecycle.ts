// The lifecycle of every resource as data: one transition table per resource kind, keyed by state, so a
// state added to an enum without its row fails to compile. Every state change goes through `move`;
// an illegal transition is a bug in the control plane (an assertion), never a user error.

import type { z } from "zod";
import type { JobState } from "../store/index.ts";
import type { ClusterState, EndpointState, ModelState, WorkRequestStatus } from "./resources.ts";

type Table<S extends string> = { readonly [K in S]: readonly S[] };

/** Dedicated AI clusters: created, resized (UPDATING), deleted; start-up settles CREATING/UPDATING/DELETING. */
export const CLUSTER_LIFECYCLE: Table<z.infer<typeof ClusterState>> = {
  CREATING: ["ACTIVE", "FAILED", "DELETING"],
  ACTIVE: ["UPDATING", "DELETING"],
  UPDATING: ["ACTIVE", "FAILED", "DELETING"],
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
  CREATING: ["ACTIVE", "FAILED", "DELETING"],
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

/** States with no way out. */
export function isFinal<K extends LifecycleKind>(kind: K, state: StateOf<K>): boolean {
  return (LIFECYCLES[kind] as unknown as Record<string, readonly string[]>)[state]?.length === 0;
}
