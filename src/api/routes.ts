// Routes declared once: method, path, zod schemas for params/query/body, and a handler. The same
// declaration validates requests (strict: unknown fields are 400s naming the field) and is recorded
// for the OpenAPI document.

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { z } from "zod";
import type { Scope } from "../control/index.ts";
import { ServiceError } from "../control/index.ts";
import { formatIssues } from "./errors.ts";

export interface RouteDoc {
  method: "GET" | "POST" | "PUT" | "DELETE" | "HEAD";
  /** fastify path, e.g. /20231130/models/:modelId */
  url: string;
  summary: string;
  tag: string;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /** the success body's schema (documentation only) */
  response?: z.ZodType;
  status?: number;
  /** headers the route reads (documentation only) */
  headers?: string[];
  /** false: no API key needed */
  auth?: boolean;
  /** honours opc-retry-token (retry-token.ts): a retry with the same token gets the first answer again */
  idempotent?: boolean;
}

export interface Ctx<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  scope: Scope;
  req: FastifyRequest;
  reply: FastifyReply;
}

export const documented: RouteDoc[] = [];

function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) return undefined as T;
  const r = schema.safeParse(value ?? (where === "body" ? undefined : {}));
  if (!r.success) throw new ServiceError(400, "InvalidParameter", formatIssues(r.error.issues, where));
  return r.data;
}

export function route<P = undefined, Q = undefined, B = undefined>(
  app: FastifyInstance,
  doc: RouteDoc & { params?: z.ZodType<P>; query?: z.ZodType<Q>; body?: z.ZodType<B> },
  handler: (c: Ctx<P, Q, B>) => Promise<unknown> | unknown,
): void {
  if (doc.idempotent) doc = { ...doc, headers: [...(doc.headers ?? []), "opc-retry-token"] };
  if (!documented.some((d) => d.method === doc.method && d.url === doc.url)) documented.push(doc);
  app.route({
    method: doc.method,
    url: doc.url,
    config: { auth: doc.auth !== false, idempotent: doc.idempotent === true },
    handler: async (req, reply) => {
      const params = parse(doc.params, req.params, "path");
      const query = parse(doc.query, req.query, "query");
      const body =
        doc.method === "GET" || doc.method === "HEAD" || doc.method === "DELETE" ? (undefined as B) : parse(doc.body, req.body, "body");
      const out = await handler({ params, query, body, scope: req.scope, req, reply });
      if (reply.sent) return reply;
      if (doc.status) reply.code(doc.status);
      return out === undefined ? reply.send() : out;
    },
  });
}

declare module "fastify" {
  interface FastifyRequest {
    /** compartments of the caller's API key (empty on routes without auth) */
    scope: Scope;
    /** API key id, for rate limiting and logs */
    keyId: string | null;
  }
  interface FastifyContextConfig {
    auth?: boolean;
    idempotent?: boolean;
  }
}
