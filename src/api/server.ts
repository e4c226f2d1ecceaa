// The HTTP server: fastify with request ids (`opc-request-id`), API-key auth, rate limits, body limits,
// every route family, the OpenAPI document, metrics, and the single error mapping.

import Fastify, { type FastifyInstance } from "fastify";
import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { ControlPlane } from "../control/index.ts";
import { type RateLimit, installAuth } from "./auth.ts";
import { ociErrorBody, openAiErrorBody, toServiceError } from "./errors.ts";
import { managementRoutes } from "./management.ts";
import type { Metrics } from "./metrics.ts";
import { objectStorageRoutes } from "./object-storage.ts";
import { ociInferenceRoutes } from "./oci-inference.ts";
import { openApiDocument } from "./openapi.ts";
import { embeddingRoutes } from "./embeddings.ts";
import { openAiRoutes } from "./openai.ts";
import { documented } from "./routes.ts";

export const ServerOptionsSchema = z.strictObject({
  /** largest JSON body, in bytes (object uploads have their own limit, maxObjectBytes) */
  bodyLimit: z.number().int().min(1024).default(1024 * 1024),
  /** per-key rate limit */
  rateLimit: z.strictObject({ perSecond: z.number().positive(), burst: z.number().int().min(1) }).default({ perSecond: 50, burst: 200 }),
  /** pino logger options, or false for none */
  logger: z.union([z.boolean(), z.record(z.string(), z.unknown())]).default(false),
});
export type ServerOptionsInput = z.input<typeof ServerOptionsSchema>;

export const VERSION = "0.1.0";

export async function buildServer(cp: ControlPlane, metrics: Metrics, input: ServerOptionsInput = {}): Promise<FastifyInstance> {
  const o = ServerOptionsSchema.parse(input);
  const app = Fastify({
    bodyLimit: o.bodyLimit,
    // HEAD is declared where it means something (objects), not mirrored for every GET
    exposeHeadRoutes: false,
    logger: o.logger,
    // honour a client's opc-request-id (as OCI does) so its logs and ours line up
    genReqId: (req) => {
      const given = req.headers["opc-request-id"];
      return typeof given === "string" && /^[\w.-]{1,98}$/.test(given) ? given : randomBytes(16).toString("hex").toUpperCase();
    },
    // rate limits and errors must see the real route; don't 404 trailing slashes differently
    routerOptions: { ignoreTrailingSlash: true },
  });
  // SDKs and curl send action POSTs (…/actions/activate) with an empty body, often with a JSON content
  // type: an empty JSON body is no body; anything else goes through fastify's own (poisoning-safe) parser
  const json = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (req, body, done) => {
    const text = typeof body === "string" ? body : body.toString("utf8");
    if (text.trim() === "") return done(null, undefined);
    json(req, text, done);
  });
  app.addHook("onRequest", async (req, reply) => void reply.header("opc-request-id", req.id));
  installAuth(app, cp.store.apiKeys, o.rateLimit as RateLimit);
  metrics.install(app);
  metrics.watch(cp);

  app.setErrorHandler((err, req, reply) => {
    const e = toServiceError(err);
    if (e.status >= 500) req.log.error({ err }, "request failed");
    const body = req.url.startsWith("/v1/") ? openAiErrorBody(e) : ociErrorBody(e);
    if (e.status === 429) reply.header("retry-after", "1");
    reply.code(e.status).send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    const e = { status: 404, code: "NotAuthorizedOrNotFound", message: `no route ${req.method} ${req.url.split("?")[0]}` };
    reply.code(404).send(req.url.startsWith("/v1/") ? { error: { message: e.message, type: "not_found_error", param: null, code: e.code } } : { code: e.code, message: e.message });
  });

  managementRoutes(app, cp);
  objectStorageRoutes(app, cp);
  ociInferenceRoutes(app, cp);
  openAiRoutes(app, cp);
  embeddingRoutes(app, cp);
  app.get("/health", { config: { auth: false } }, async () => ({ status: "ok", version: VERSION }));
  let doc: Record<string, unknown> | null = null;
  app.get("/openapi.json", { config: { auth: false } }, async () => (doc ??= openApiDocument(documented, VERSION)));
  await app.ready();
  return app;
}
