// servingMode ON_DEMAND (OCI's `{servingType: "ON_DEMAND", modelId}`) on Sprig: there is no shared pool
// behind it, so a request for a BASE model goes to that model's shared endpoint in the request's
// compartment — an ACTIVE endpoint serving exactly that model (not a custom model of it); with several,
// the oldest. Without one the caller gets a 4xx that says how to make one, or to name an endpoint.

import type { Scope, SprigStore } from "./context.ts";
import { fetchVisible } from "./context.ts";
import { ServiceError, badRequest } from "./errors.ts";
import type { Endpoint, Model } from "./resources.ts";

/** The endpoint an ON_DEMAND request for `modelId` in `compartmentId` goes to. */
export async function onDemandEndpoint(store: SprigStore, scope: Scope, compartmentId: string, modelId: string): Promise<Endpoint> {
  const { value: model } = await fetchVisible<Model>((x) => store.models.get(x), scope, "model", modelId);
  if (model.type !== "BASE")
    throw badRequest(
      `servingMode.modelId: ${modelId} is a CUSTOM model; ON_DEMAND serves BASE models. Call its endpoint with servingMode {servingType: "DEDICATED", endpointId}`,
    );
  const of = async (state?: string) =>
    (
      await store.endpoints.list({
        compartmentIds: [compartmentId],
        where: (x) =>
          (x as Endpoint).modelId === modelId &&
          (state ? (x as Endpoint).lifecycleState === state : (x as Endpoint).lifecycleState !== "DELETED"),
        sortBy: "timeCreated",
        sortOrder: "ASC",
        limit: 1,
        offset: 0,
      })
    ).items[0];
  const active = await of("ACTIVE");
  if (active) return active;
  const other = await of();
  throw new ServiceError(
    404,
    "NotAuthorizedOrNotFound",
    `servingMode ON_DEMAND: no ACTIVE endpoint in compartment ${compartmentId} serves base model ${modelId}` +
      (other
        ? ` (endpoint ${other.id} does but is ${other.lifecycleState}${other.lifecycleState === "INACTIVE" ? ": activate it" : ""})`
        : `: create one on a HOSTING cluster (POST /20231130/endpoints {"compartmentId": "${compartmentId}", "modelId": "${modelId}", "dedicatedAiClusterId": …})`) +
      `, or use servingMode {servingType: "DEDICATED", endpointId}`,
  );
}
