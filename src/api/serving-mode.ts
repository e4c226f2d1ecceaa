// OCI's servingMode on inference requests: DEDICATED names an endpoint; ON_DEMAND names a BASE model and
// goes to its shared endpoint in the request's compartment (control/on-demand.ts says which).

import { z } from "zod";
import { type ControlPlane, type Scope, onDemandEndpoint } from "../control/index.ts";

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

/** The endpoint id a request's servingMode goes to. */
export async function endpointOf(cp: ControlPlane, scope: Scope, compartmentId: string, mode: ServingMode): Promise<string> {
  return mode.servingType === "DEDICATED" ? mode.endpointId : (await onDemandEndpoint(cp.store, scope, compartmentId, mode.modelId)).id;
}
