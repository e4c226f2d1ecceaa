// The HTTP server: fastify with request ids (`opc-request-id`), API-key auth, rate limits, body limits,
// every route family, the OpenAPI document, metrics, and the single error mapping.

import Fastify, { type FastifyInstance } from "fastify";
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { consoleRoutes } from "../console/index.ts";
import type { ControlPlane } from "../control/index.ts";
import { adminRoutes } from "./admin.ts";
import { type RateLimit, installAuth } from "./auth.ts";
import { installErrorHandling, routerRefusal, sendError } from "./errors.ts";
import { installJsonBody } from "./json-body.ts";
import { managementRoutes } from "./management.ts";
import type { Metrics } from "./metrics.ts";
import { objectStorageRoutes } from "./object-storage.ts";
import { ociInferenceRoutes } from "./oci-inference.ts";
import { openApiDocument } from "./openapi.ts";
import { embeddingRoutes } from "./embeddings.ts";
import { openAiRoutes } from "./openai.ts";
import { installRetryTokens } from "./retry-token.ts";
import { BlocklistModerator, type ContentModerator } from "./content-moderation.ts";
import { documented } from "./routes.ts";

export const ServerOptionsSchema = z.strictObject({
  /** largest JSON body, in bytes (object uploads have their own limit, maxObjectBytes) */
  bodyLimit: z
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  /** per-key rate limit */
  rateLimit: z.strictObject({ perSecond: z.number().positive(), burst: z.number().int().min(1) }).default({ perSecond: 50, burst: 200 }),
  /** content moderation of endpoints that enable it (content-moderation.ts) */
  contentModeration: z
    .strictObject({
      /** terms the built-in moderator flags (whole words or phrases, any case) */
      blocklist: z.array(z.string().min(1).max(200)).max(100_000).default([]),
      /** another check in its place (an object with `name` and `check(text)`) */
      moderator: z.custom<ContentModerator>((v) => typeof (v as ContentModerator | null)?.check === "function").optional(),
    })
    .default({ blocklist: [] }),
  /** pino logger options, or false for none */
  logger: z.union([z.boolean(), z.record(z.string(), z.unknown())]).default(false),
});
export type ServerOptionsInput = z.input<typeof ServerOptionsSchema>;

export const VERSION = "0.1.0";

/** Longest path parameter the router accepts: above every schema's limit (ids 255, object names 1024), so the schemas decide. */
const MAX_PARAM_LENGTH = 2048;

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
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    // what the router refuses before any hook runs still gets the API's error shape and a request id
    frameworkErrors: (err, req, reply) => sendError(req, reply, routerRefusal(err, MAX_PARAM_LENGTH)),
  });
  // SDKs and curl send action POSTs (…/actions/activate) with an empty body, often with a JSON content type
  installJsonBody(app);
  app.addHook("onRequest", async (req, reply) => void reply.header("opc-request-id", req.id));
  installAuth(app, cp.store.apiKeys, o.rateLimit as RateLimit);
  metrics.install(app);
  metrics.watch(cp);
  installRetryTokens(app, cp.idempotency);

  installErrorHandling(app);

  managementRoutes(app, cp);
  objectStorageRoutes(app, cp);
  ociInferenceRoutes(app, cp, o.contentModeration.moderator ?? new BlocklistModerator(o.contentModeration.blocklist));
  openAiRoutes(app, cp);
  await consoleRoutes(app);
  adminRoutes(app, cp);
  embeddingRoutes(app, cp);
  app.get("/health", { config: { auth: false } }, async () => ({ status: "ok", version: VERSION }));
  let doc: Record<string, unknown> | null = null;
  app.get("/openapi.json", { config: { auth: false } }, async () => (doc ??= openApiDocument(documented, VERSION)));
  await app.ready();
  return app;
}
