// The management API under /20231130: dedicated AI clusters, models, endpoints (with activate and
// deactivate), work requests with their errors and logs, and Sprig's own: fine-tune history, training
// data checks, hyperparameter defaults, endpoint usage. OCI conventions: `{items}` collections,
// `opc-next-page`, `etag` and `If-Match`, `opc-work-request-id`.

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import {
  type ControlPlane,
  ChangeDedicatedAiClusterCompartmentDetails,
  ChangeEndpointCompartmentDetails,
  ChangeModelCompartmentDetails,
  CreateDedicatedAiClusterDetails,
  CreateEndpointDetails,
  CreateModelDetails,
  DedicatedAiCluster,
  Endpoint,
  EndpointUsage,
  ExportModelDetails,
  ListQuery,
  Model,
  ModelExport,
  type Page,
  UpdateDedicatedAiClusterDetails,
  UpdateEndpointDetails,
  UpdateModelDetails,
  TrainingConfigDefaults,
  TrainingDataValidation,
  ValidateTrainingDataDetails,
  WorkRequest,
  trainingConfigDefaults,
} from "../control/index.ts";
import { route } from "./routes.ts";

const V = "/20231130";
const collection = (item: z.ZodType, id: string) => z.object({ items: z.array(item) }).meta({ id });

function ifMatch(req: FastifyRequest): string | undefined {
  const v = req.headers["if-match"];
  return typeof v === "string" ? v.replace(/^W\//, "").replace(/^"|"$/g, "") : undefined;
}

// (these take the control plane's promise: a handler is then one expression)
async function one<T>(reply: FastifyReply, pending: Promise<{ value: T; etag: string; workRequestId?: string }>): Promise<T> {
  const r = await pending;
  reply.header("etag", r.etag);
  if (r.workRequestId) reply.header("opc-work-request-id", r.workRequestId);
  return r.value;
}

async function list<T>(reply: FastifyReply, pending: Promise<Page<T>>): Promise<{ items: T[] }> {
  const p = await pending;
  if (p.nextPage) reply.header("opc-next-page", p.nextPage);
  return { items: p.items };
}

async function accepted(reply: FastifyReply, pending: Promise<{ workRequestId: string }>): Promise<void> {
  const r = await pending;
  reply.header("opc-work-request-id", r.workRequestId);
  reply.code(202).send();
}

export function managementRoutes(app: FastifyInstance, cp: ControlPlane): void {
  const ids = (name: string) => z.strictObject({ [name]: z.string().min(1).max(255) }) as z.ZodType<Record<string, string>>;
  const H = ["if-match"];

  // --- dedicated AI clusters ---
  route(
    app,
    {
      method: "POST",
      url: `${V}/dedicatedAiClusters`,
      tag: "DedicatedAiCluster",
      summary: "Create a dedicated AI cluster",
      idempotent: true,
      body: CreateDedicatedAiClusterDetails,
      response: DedicatedAiCluster,
    },
    ({ scope, body, reply }) => one(reply, cp.clusters.create(scope, body)),
  );
  route(
    app,
    {
      method: "GET",
      url: `${V}/dedicatedAiClusters`,
      tag: "DedicatedAiCluster",
      summary: "List dedicated AI clusters",
      query: ListQuery,
      response: collection(DedicatedAiCluster, "DedicatedAiClusterCollection"),
    },
    ({ scope, query, reply }) => list(reply, cp.clusters.list(scope, query)),
  );
  route(
    app,
    {
      method: "GET",
      url: `${V}/dedicatedAiClusters/:dedicatedAiClusterId`,
      tag: "DedicatedAiCluster",
      summary: "Get a dedicated AI cluster",
      params: ids("dedicatedAiClusterId"),
      response: DedicatedAiCluster,
    },
    ({ scope, params, reply }) => one(reply, cp.clusters.get(scope, params.dedicatedAiClusterId!)),
  );
  route(
    app,
    {
      method: "PUT",
      url: `${V}/dedicatedAiClusters/:dedicatedAiClusterId`,
      tag: "DedicatedAiCluster",
      summary: "Update a dedicated AI cluster (unitCount resizes it)",
      params: ids("dedicatedAiClusterId"),
      body: UpdateDedicatedAiClusterDetails,
      response: DedicatedAiCluster,
      headers: H,
    },
    ({ scope, params, body, req, reply }) => one(reply, cp.clusters.update(scope, params.dedicatedAiClusterId!, body, ifMatch(req))),
  );
  route(
    app,
    {
      method: "DELETE",
      url: `${V}/dedicatedAiClusters/:dedicatedAiClusterId`,
      tag: "DedicatedAiCluster",
      summary: "Delete a dedicated AI cluster (409 while it has endpoints or fine-tunes)",
      params: ids("dedicatedAiClusterId"),
      status: 202,
      headers: H,
    },
    ({ scope, params, req, reply }) => accepted(reply, cp.clusters.delete(scope, params.dedicatedAiClusterId!, ifMatch(req))),
  );

  // --- models ---
  route(
    app,
    {
      method: "POST",
      url: `${V}/models`,
      tag: "Model",
      summary: "Create a model: fine-tune a CUSTOM model (fineTuneDetails) or register a BASE model (modelSource)",
      idempotent: true,
      body: CreateModelDetails,
      response: Model,
    },
    ({ scope, body, reply }) => one(reply, cp.models.create(scope, body)),
  );
  route(
    app,
    {
      method: "GET",
      url: `${V}/models`,
      tag: "Model",
      summary: "List models (BASE models every compartment sees are included)",
      query: ListQuery,
      response: collection(Model, "ModelCollection"),
    },
    ({ scope, query, reply }) => list(reply, cp.models.list(scope, query)),
  );
  route(
    app,
    { method: "GET", url: `${V}/models/:modelId`, tag: "Model", summary: "Get a model", params: ids("modelId"), response: Model },
    ({ scope, params, reply }) => one(reply, cp.models.get(scope, params.modelId!)),
  );
  route(
    app,
    {
      method: "PUT",
      url: `${V}/models/:modelId`,
      tag: "Model",
      summary: "Update a model's name, description, vendor, version or tags",
      params: ids("modelId"),
      body: UpdateModelDetails,
      response: Model,
      headers: H,
    },
    ({ scope, params, body, req, reply }) => one(reply, cp.models.update(scope, params.modelId!, body, ifMatch(req))),
  );
  route(
    app,
    {
      method: "DELETE",
      url: `${V}/models/:modelId`,
      tag: "Model",
      summary: "Delete a model (409 while endpoints serve it or models derive from it)",
      params: ids("modelId"),
      status: 202,
      headers: H,
    },
    ({ scope, params, req, reply }) => accepted(reply, cp.models.delete(scope, params.modelId!, ifMatch(req))),
  );
  route(
    app,
    {
      method: "POST",
      url: `${V}/models/:modelId/actions/export`,
      tag: "Model",
      summary: "Sprig: export a model to object storage: PEFT (adapter), HF (merged Hugging Face directory) or GGUF (llama.cpp)",
      params: ids("modelId"),
      body: ExportModelDetails,
      response: ModelExport,
    },
    ({ scope, params, body }) => cp.models.export(scope, params.modelId!, body),
  );
  route(
    app,
    {
      method: "GET",
      url: `${V}/models/:modelId/metricsHistory`,
      tag: "Model",
      summary: "Sprig: the fine-tune's per-step metrics (loss, accuracy, …)",
      params: ids("modelId"),
      response: z.object({ items: z.array(z.object({ step: z.number(), timestamp: z.string() }).catchall(z.unknown())) }),
    },
    async ({ scope, params }) => ({ items: await cp.fineTuneMetrics(scope, params.modelId!) }),
  );
  route(
    app,
    {
      method: "GET",
      url: `${V}/models/:modelId/events`,
      tag: "Model",
      summary: "Sprig: the fine-tune's event log",
      params: ids("modelId"),
      query: ListQuery,
      response: z.object({ items: z.array(z.object({ timestamp: z.string(), level: z.string(), message: z.string() })) }),
    },
    ({ scope, params, query, reply }) => list(reply, cp.fineTuneEvents(scope, params.modelId!, query)),
  );

  route(
    app,
    {
      method: "POST",
      url: `${V}/actions/validateTrainingData`,
      tag: "Model",
      summary: "Sprig: check training data for a fine-tune of a model, every bad line with its number (nothing trains)",
      body: ValidateTrainingDataDetails,
      response: TrainingDataValidation,
    },
    ({ scope, body }) => cp.datasets.validate(scope, body),
  );
  route(
    app,
    {
      method: "GET",
      url: `${V}/trainingConfigDefaults`,
      tag: "Model",
      summary: "Sprig: every training method's hyperparameter defaults (what a fine-tune uses for a field left out)",
      response: TrainingConfigDefaults,
    },
    () => ({ items: trainingConfigDefaults() }),
  );

  // --- endpoints ---
  route(
    app,
    {
      method: "POST",
      url: `${V}/endpoints`,
      tag: "Endpoint",
      summary: "Create an endpoint serving a model on a HOSTING cluster",
      idempotent: true,
      body: CreateEndpointDetails,
      response: Endpoint,
    },
    ({ scope, body, reply }) => one(reply, cp.endpoints.create(scope, body)),
  );
  route(
    app,
    {
      method: "GET",
      url: `${V}/endpoints`,
      tag: "Endpoint",
      summary: "List endpoints",
      query: ListQuery,
      response: collection(Endpoint, "EndpointCollection"),
    },
    ({ scope, query, reply }) => list(reply, cp.endpoints.list(scope, query)),
  );
  route(
    app,
    {
      method: "GET",
      url: `${V}/endpoints/:endpointId`,
      tag: "Endpoint",
      summary: "Get an endpoint",
      params: ids("endpointId"),
      response: Endpoint,
    },
    ({ scope, params, reply }) => one(reply, cp.endpoints.get(scope, params.endpointId!)),
  );
  route(
    app,
    {
      method: "PUT",
      url: `${V}/endpoints/:endpointId`,
      tag: "Endpoint",
      summary: "Update an endpoint",
      params: ids("endpointId"),
      body: UpdateEndpointDetails,
      response: Endpoint,
      headers: H,
    },
    ({ scope, params, body, req, reply }) => one(reply, cp.endpoints.update(scope, params.endpointId!, body, ifMatch(req))),
  );
  route(
    app,
    {
      method: "DELETE",
      url: `${V}/endpoints/:endpointId`,
      tag: "Endpoint",
      summary: "Delete an endpoint (in-flight requests are cancelled)",
      params: ids("endpointId"),
      status: 202,
      headers: H,
    },
    ({ scope, params, req, reply }) => accepted(reply, cp.endpoints.delete(scope, params.endpointId!, ifMatch(req))),
  );
  route(
    app,
    {
      method: "GET",
      url: `${V}/endpoints/:endpointId/usage`,
      tag: "Endpoint",
      summary: "Sprig: the endpoint's generation, token and refusal counters since the service started",
      params: ids("endpointId"),
      response: EndpointUsage,
    },
    async ({ scope, params }) => cp.inference.usage.get((await cp.endpoints.get(scope, params.endpointId!)).value.id),
  );
  route(
    app,
    {
      method: "POST",
      url: `${V}/endpoints/:endpointId/actions/deactivate`,
      tag: "Endpoint",
      summary: "Stop serving (ACTIVE → INACTIVE); in-flight requests finish",
      params: ids("endpointId"),
      response: Endpoint,
      headers: H,
    },
    ({ scope, params, req, reply }) => one(reply, cp.endpoints.deactivate(scope, params.endpointId!, ifMatch(req))),
  );
  route(
    app,
    {
      method: "POST",
      url: `${V}/endpoints/:endpointId/actions/activate`,
      tag: "Endpoint",
      summary: "Serve again (INACTIVE → ACTIVE)",
      params: ids("endpointId"),
      response: Endpoint,
      headers: H,
    },
    ({ scope, params, req, reply }) => one(reply, cp.endpoints.activate(scope, params.endpointId!, ifMatch(req))),
  );

  // --- Change…Compartment (202 with a MOVE_* work request) ---
  for (const [kind, name, tag, what, body] of [
    ["cluster", "dedicatedAiCluster", "DedicatedAiCluster", "a dedicated AI cluster", ChangeDedicatedAiClusterCompartmentDetails],
    ["model", "model", "Model", "a model", ChangeModelCompartmentDetails],
    ["endpoint", "endpoint", "Endpoint", "an endpoint", ChangeEndpointCompartmentDetails],
  ] as const)
    route(
      app,
      {
        method: "POST",
        url: `${V}/${name}s/:${name}Id/actions/changeCompartment`,
        tag,
        summary: `Move ${what} to another compartment (the key must hold both)`,
        params: ids(`${name}Id`),
        body,
        status: 202,
        headers: H,
        idempotent: true,
      },
      ({ scope, params, body, req, reply }) => accepted(reply, cp.moves.move(kind, scope, params[`${name}Id`]!, body, ifMatch(req))),
    );

  // --- work requests ---
  route(
    app,
    {
      method: "GET",
      url: `${V}/workRequests`,
      tag: "WorkRequest",
      summary: "List work requests (filter by resourceId, operationType, status)",
      query: ListQuery,
      response: collection(WorkRequest, "WorkRequestCollection"),
    },
    ({ scope, query, reply }) => list(reply, cp.listWorkRequests(scope, query)),
  );
  route(
    app,
    {
      method: "GET",
      url: `${V}/workRequests/:workRequestId`,
      tag: "WorkRequest",
      summary: "Get a work request",
      params: ids("workRequestId"),
      response: WorkRequest,
    },
    ({ scope, params }) => cp.getWorkRequest(scope, params.workRequestId!),
  );
  route(
    app,
    {
      method: "DELETE",
      url: `${V}/workRequests/:workRequestId`,
      tag: "WorkRequest",
      summary: "Cancel a work request (fine-tunes only)",
      params: ids("workRequestId"),
      status: 202,
    },
    async ({ scope, params, reply }) => {
      await cp.cancelWorkRequest(scope, params.workRequestId!);
      reply.code(202).send();
    },
  );
  route(
    app,
    {
      method: "GET",
      url: `${V}/workRequests/:workRequestId/errors`,
      tag: "WorkRequest",
      summary: "A work request's errors (e.g. line-numbered training data errors)",
      params: ids("workRequestId"),
      query: ListQuery,
    },
    ({ scope, params, query, reply }) => list(reply, cp.workRequestErrors(scope, params.workRequestId!, query)),
  );
  route(
    app,
    {
      method: "GET",
      url: `${V}/workRequests/:workRequestId/logs`,
      tag: "WorkRequest",
      summary: "A work request's log messages",
      params: ids("workRequestId"),
      query: ListQuery,
    },
    ({ scope, params, query, reply }) => list(reply, cp.workRequestLogs(scope, params.workRequestId!, query)),
  );
}
