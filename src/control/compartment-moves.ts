// Change…Compartment (OCI's actions): move a dedicated AI cluster, a model or an endpoint to another
// compartment, with a MOVE_* work request. The caller's key must hold both compartments (the resource's
// and the target). Rules: a resource in the middle of a change (CREATING, UPDATING, DELETING) or gone
// cannot move; a model every compartment sees (compartmentId null) belongs to none and cannot move. An
// endpoint and its cluster may sit in different compartments (creation allows it too), so neither move
// drags the other along: a cluster's endpoints and a model's endpoints stay where they are, and serving
// goes on untouched. The resource is ACTIVE (or as it was) throughout; only its compartmentId changes.

import { z } from "zod";
import type { ControlContext, Scope, WorkRequests } from "./context.ts";
import { checkEtag, fetchVisible, requireCompartment } from "./context.ts";
import { conflict, incorrectState } from "./errors.ts";
import { now } from "./ids.ts";
import type { OperationType, WorkRequestResource } from "./resources.ts";

const details = (id: string, what: string) =>
  z.strictObject({ compartmentId: z.string().min(1).max(255).describe(`the compartment to move the ${what} to`) }).meta({ id });
export const ChangeDedicatedAiClusterCompartmentDetails = details("ChangeDedicatedAiClusterCompartmentDetails", "dedicated AI cluster");
export const ChangeModelCompartmentDetails = details("ChangeModelCompartmentDetails", "model");
export const ChangeEndpointCompartmentDetails = details("ChangeEndpointCompartmentDetails", "endpoint");
export type ChangeCompartmentDetails = z.infer<typeof ChangeEndpointCompartmentDetails>;

/** States a resource may move in: settled ones (not mid-change, not gone). */
const MOVABLE = new Set(["ACTIVE", "INACTIVE", "FAILED", "NEEDS_ATTENTION"]);

interface Kind {
  entity: WorkRequestResource["entityType"];
  op: OperationType;
  what: string;
  table: (
    ctx: ControlContext,
  ) => ControlContext["store"]["clusters"] | ControlContext["store"]["models"] | ControlContext["store"]["endpoints"];
}

const KINDS = {
  cluster: {
    entity: "DedicatedAiCluster",
    op: "MOVE_DEDICATED_AI_CLUSTER",
    what: "dedicated AI cluster",
    table: (ctx) => ctx.store.clusters,
  },
  model: { entity: "Model", op: "MOVE_MODEL", what: "model", table: (ctx) => ctx.store.models },
  endpoint: { entity: "Endpoint", op: "MOVE_ENDPOINT", what: "endpoint", table: (ctx) => ctx.store.endpoints },
} as const satisfies Record<string, Kind>;

export class CompartmentMoves {
  constructor(
    private readonly ctx: ControlContext,
    private readonly wr: WorkRequests,
  ) {}

  /** Move resource `id` of `kind` to `d.compartmentId`; the work request is in the target compartment. */
  async move(
    kind: keyof typeof KINDS,
    scope: Scope,
    id: string,
    d: ChangeCompartmentDetails,
    ifMatch?: string,
  ): Promise<{ workRequestId: string }> {
    const k: Kind = KINDS[kind];
    const table = k.table(this.ctx) as ControlContext["store"]["endpoints"];
    const { value: r, etag } = await fetchVisible((x) => table.get(x), scope, k.what, id);
    checkEtag(id, etag, ifMatch);
    requireCompartment(scope, d.compartmentId);
    if (r.compartmentId === null)
      throw conflict(`${k.what} ${id} belongs to no compartment (every compartment sees it): it cannot be moved`);
    if (!MOVABLE.has(r.lifecycleState))
      throw incorrectState(
        `${k.what} ${id} is ${r.lifecycleState}; it can move once it is settled (ACTIVE, INACTIVE, FAILED or NEEDS_ATTENTION)`,
      );
    const from = r.compartmentId;
    const w = await this.ctx.store.tx(async () => {
      const w = await this.wr.create(d.compartmentId, k.op, k.entity, id, "IN_PROGRESS");
      if (from !== d.compartmentId && (await table.update({ ...r, compartmentId: d.compartmentId, timeUpdated: now() }, etag)) === null)
        throw conflict(`${k.what} ${id} changed during the move: retry`);
      return w;
    });
    await this.wr.start(w.id);
    await this.wr.action(w.id, "UPDATED");
    await this.wr.finish(
      w.id,
      "SUCCEEDED",
      from === d.compartmentId ? `already in compartment ${from}` : `moved from compartment ${from} to ${d.compartmentId}`,
    );
    return { workRequestId: w.id };
  }
}
