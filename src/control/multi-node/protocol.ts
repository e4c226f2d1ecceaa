// The internal API between API nodes and worker nodes (authenticated with the node secret): the paths, the
// request bodies (validated on the worker node), and the stream a generation answers with — one JSON
// object per line: {"token": delta} for each piece of text, then {"result": InferenceResult} or
// {"error": {status, reason, message}}. Errors outside a stream are `{error: {status, reason, message}}`
// with that HTTP status, so the API node rebuilds the executor's error and maps it as the embedded path does.

import { z } from "zod";
import type { EmbedRequest, InferenceRequest } from "../executors.ts";

export const NODE_API = "/internal/v1";

export const nodePaths = {
  health: `${NODE_API}/health`,
  pool: (clusterId: string) => `${NODE_API}/pools/${encodeURIComponent(clusterId)}`,
  activate: (clusterId: string) => `${NODE_API}/pools/${encodeURIComponent(clusterId)}/activate`,
  deactivate: (clusterId: string) => `${NODE_API}/pools/${encodeURIComponent(clusterId)}/deactivate`,
  generate: (clusterId: string) => `${NODE_API}/pools/${encodeURIComponent(clusterId)}/generate`,
  embed: (clusterId: string) => `${NODE_API}/pools/${encodeURIComponent(clusterId)}/embed`,
  stats: (clusterId: string) => `${NODE_API}/pools/${encodeURIComponent(clusterId)}/stats`,
};

export const UnitSpecSchema = z.strictObject({
  index: z.number().int().min(0),
  nodeId: z.string().min(1),
  cores: z.array(z.number().int().min(0)),
  memoryBytes: z.number().int().min(1),
  pin: z.boolean(),
});

/** PUT pool: start the cluster's pool on this node with these units, or resize it to them. */
export const PoolBodySchema = z.strictObject({
  baseModelDir: z.string().min(1),
  units: z.array(UnitSpecSchema).min(1),
});
export type PoolBody = z.infer<typeof PoolBodySchema>;

export const ServedModelSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("base") }),
  z.strictObject({ kind: z.literal("adapter"), dir: z.string().min(1) }),
  z.strictObject({ kind: z.literal("full"), dir: z.string().min(1) }),
]);

export const ActivateBodySchema = z.strictObject({ endpointId: z.string().min(1), model: ServedModelSchema });
export const DeactivateBodySchema = z.strictObject({ endpointId: z.string().min(1), cancelInFlight: z.boolean() });

// prompt and sampling were validated by the API node that took the request; the hosting worker checks them again
export const GenerateBodySchema = z.strictObject({
  endpointId: z.string().min(1),
  prompt: z.looseObject({ kind: z.enum(["text", "chat", "ids"]) }),
  sampling: z.looseObject({ maxTokens: z.number().int().min(1) }),
});
export const EmbedBodySchema = z.strictObject({
  endpointId: z.string().min(1),
  inputs: z.array(z.looseObject({ kind: z.enum(["text", "ids"]) })),
  truncate: z.enum(["NONE", "START", "END"]),
});

export const asInferenceRequest = (b: z.infer<typeof GenerateBodySchema>): InferenceRequest => b as unknown as InferenceRequest;
export const asEmbedRequest = (b: z.infer<typeof EmbedBodySchema>): EmbedRequest => b as unknown as EmbedRequest;

/** An error as it crosses between nodes. */
export const WireErrorSchema = z.object({ status: z.number().int(), reason: z.string(), message: z.string() });
export type WireError = z.infer<typeof WireErrorSchema>;

/** The reason a worker node gives when it holds no pool for a cluster (it restarted): the API node sets it up again. */
export const NO_POOL = "pool_not_found";
