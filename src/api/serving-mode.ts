// OCI's servingMode on inference requests: DEDICATED names an endpoint; ON_DEMAND names a BASE model and
// goes to its shared endpoint in the request's compartment (control/on-demand.ts says which). The OCI
// inference routes resolve their endpoint here once per request.

import { z } from "zod";
import { type ActiveEndpoint, type ControlPlane, type Scope, badRequest, onDemandEndpoint } from "../control/index.ts";

export const ServingMode = z
  .discriminatedUnion("servingType", [
    z.strictObject({ servingType: z.literal("DEDICATED"), endpointId: z.string().min(1) }).meta({ id: "DedicatedServingMode" }),
    z
      .strictObject({
        servingType: z.literal("ON_DEMAND"),
        modelId: z.string().min(1).describe("a BASE model: served by an ACTIVE endpoint of it in compartmentId (the oldest)"),
      })
      .meta({ id: "OnDemandServingMode" }),
  ])
  .describe("DEDICATED: an endpoint; ON_DEMAND: a BASE model's shared endpoint in the request's compartment");
export type ServingMode = z.infer<typeof ServingMode>;

/** The ACTIVE endpoint an OCI request (its compartmentId and servingMode) goes to, or the 4xx to answer. */
export async function servedBy(cp: ControlPlane, scope: Scope, compartmentId: string, mode: ServingMode): Promise<ActiveEndpoint> {
  if (!scope.compartments.includes(compartmentId)) throw badRequest(`compartmentId: ${compartmentId} is not a compartment of this API key`);
  if (mode.servingType === "DEDICATED") return cp.inference.target(scope, mode.endpointId);
  return cp.inference.target(scope, (await onDemandEndpoint(cp.store, scope, compartmentId, mode.modelId)).id);
}
