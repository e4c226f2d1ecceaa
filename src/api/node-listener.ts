// A worker node's internal listener: the API nodes' calls to the node's hosting pools (start/resize a
// cluster's pool, activate and deactivate endpoints, generate with the tokens streamed as JSON lines, embed,
// stats). Every request carries the node secret (401 otherwise, compared in constant time); errors leave as
// `{error: {status, reason, message}}` (errors.ts) so the API node rebuilds them. Never expose it publicly.

import Fastify, { type FastifyInstance } from "fastify";
import {
  ActivateBodySchema,
  DeactivateBodySchema,
  EmbedBodySchema,
  ExecutorError,
  GenerateBodySchema,
  NODE_API,
  type NodeAgent,
  PoolBodySchema,
  asEmbedRequest,
  asInferenceRequest,
  secretMatches,
} from "../control/index.ts";
import { hostErrorBody, installHostErrorHandling } from "./errors.ts";
import { clientGone } from "./sse.ts";

const MAX_BODY = 8 << 20;

/** A ready (not yet listening) Fastify app for `agent`; `app.listen({port, host})` starts it. */
export async function buildNodeListener(
  agent: NodeAgent,
  secret: string,
  o: { logger?: { level: string } | false } = {},
): Promise<FastifyInstance> {
  const app = Fastify({ bodyLimit: MAX_BODY, exposeHeadRoutes: false, logger: o.logger ?? false, disableRequestLogging: true });
  installHostErrorHandling(app);
  app.addHook("onRequest", async (req) => {
    if (!secretMatches(req.headers.authorization, secret))
      throw new ExecutorError("this is a Sprig node's internal API: the node secret is missing or wrong", 401, "unauthenticated");
  });
  const cluster = (p: unknown) => (p as { clusterId: string }).clusterId;

  app.get(`${NODE_API}/health`, async () => ({ ok: true, nodeId: agent.nodeId, clusters: agent.clusters() }));
  app.put(`${NODE_API}/pools/:clusterId`, async (req) => {
    await agent.ensurePool(cluster(req.params), PoolBodySchema.parse(req.body));
    return { ok: true };
  });
  app.delete(`${NODE_API}/pools/:clusterId`, async (req) => {
    await agent.closePool(cluster(req.params));
    return { ok: true };
  });
  app.post(`${NODE_API}/pools/:clusterId/activate`, async (req) => {
    const b = ActivateBodySchema.parse(req.body);
    await (await agent.pool(cluster(req.params))).activate(b.endpointId, b.model);
    return { ok: true };
  });
  app.post(`${NODE_API}/pools/:clusterId/deactivate`, async (req) => {
    const b = DeactivateBodySchema.parse(req.body);
    await (await agent.pool(cluster(req.params))).deactivate(b.endpointId, { cancelInFlight: b.cancelInFlight });
    return { ok: true };
  });
  app.get(`${NODE_API}/pools/:clusterId/stats`, async (req) => (await agent.pool(cluster(req.params))).stats());
  app.post(`${NODE_API}/pools/:clusterId/embed`, async (req) => {
    const pool = await agent.pool(cluster(req.params));
    if (!pool.embed) throw new ExecutorError("this cluster's pool cannot compute embeddings", 400, "invalid_request");
    return pool.embed(asEmbedRequest(EmbedBodySchema.parse(req.body)));
  });
  // one JSON object a line: {"token"} per piece, then {"result"} or {"error"}; the caller going away cancels
  app.post(`${NODE_API}/pools/:clusterId/generate`, async (req, reply) => {
    const body = asInferenceRequest(GenerateBodySchema.parse(req.body));
    const pool = await agent.pool(cluster(req.params));
    const signal = clientGone(reply);
    reply.hijack();
    reply.raw.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-cache" });
    const write = (o: unknown) => void (reply.raw.destroyed || reply.raw.write(`${JSON.stringify(o)}\n`));
    try {
      write({ result: await pool.generate(body, { onToken: (token) => write({ token }), signal }) });
    } catch (e) {
      write(hostErrorBody(e));
    }
    reply.raw.end();
  });
  return app;
}
