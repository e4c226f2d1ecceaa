// opc-retry-token on the routes declared `idempotent` (creates and compartment moves): before the handler,
// a token already answered within the retention window replays that answer (status, etag,
// opc-work-request-id, body); a new token is claimed, and the answer recorded as it is sent (only a 2xx
// is kept). The rules are the control plane's `Idempotency`.

import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Idempotency, StoredAnswer } from "../control/index.ts";

/** The headers of an answer that a replay repeats. */
const KEPT = ["content-type", "etag", "opc-work-request-id", "location"];

const pending = new WeakMap<FastifyRequest, (a: StoredAnswer) => Promise<void>>();

export function installRetryTokens(app: FastifyInstance, idem: Idempotency): void {
  app.addHook("preHandler", async (req, reply) => {
    const token = req.headers["opc-retry-token"];
    if (!req.routeOptions.config.idempotent || token === undefined || req.keyId === null) return;
    const d = await idem.begin(req.keyId, String(token), { method: req.method, path: req.url.split("?")[0]!, body: req.body });
    if (d.kind === "run") {
      pending.set(req, d.finish);
      return;
    }
    for (const [k, v] of Object.entries(d.answer.headers)) reply.header(k, v);
    return reply.code(d.answer.status).send(d.answer.body);
  });
  app.addHook("onSend", async (req, reply, payload) => {
    const finish = pending.get(req);
    if (!finish) return payload;
    pending.delete(req);
    const headers: Record<string, string> = {};
    for (const k of KEPT) {
      const v = reply.getHeader(k);
      if (v !== undefined) headers[k] = String(v);
    }
    await finish({
      status: reply.statusCode,
      headers,
      body: typeof payload === "string" ? payload : payload == null ? "" : String(payload),
    });
    return payload;
  });
  // a request that ends without sending (the client went away) gives its token back
  app.addHook("onResponse", async (req) => {
    const finish = pending.get(req);
    pending.delete(req);
    await finish?.({ status: 499, headers: {}, body: "" });
  });
}
