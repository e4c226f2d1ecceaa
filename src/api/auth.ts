// API keys and rate limits: `Authorization: Bearer KEY` → the key's compartments; a token bucket per key.

import type { FastifyInstance } from "fastify";
import type { ApiKeyRepo } from "../store/index.ts";
import { ServiceError } from "../control/index.ts";

export interface RateLimit {
  /** sustained requests per second per key */
  perSecond: number;
  /** requests a key may send at once above the sustained rate */
  burst: number;
}

export function installAuth(app: FastifyInstance, keys: ApiKeyRepo, limit: RateLimit): void {
  const buckets = new Map<string, { tokens: number; at: number }>();
  app.decorateRequest("scope", null as never);
  app.decorateRequest("keyId", null);
  app.addHook("onRequest", async (req) => {
    req.scope = { compartments: [] };
    if (req.routeOptions.config?.auth === false) return;
    const header = req.headers.authorization;
    const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!m) throw new ServiceError(401, "NotAuthenticated", "send an API key as 'Authorization: Bearer KEY' (create one with `npx sprig key create --compartment-id ID`)");
    const key = keys.verify(m[1]!);
    if (!key) throw new ServiceError(401, "NotAuthenticated", "the API key is not valid (unknown or revoked)");
    req.scope = { compartments: key.compartments, admin: key.admin };
    req.keyId = key.id;
    const now = Date.now();
    const b = buckets.get(key.id) ?? { tokens: limit.burst, at: now };
    b.tokens = Math.min(limit.burst, b.tokens + ((now - b.at) / 1000) * limit.perSecond);
    b.at = now;
    buckets.set(key.id, b);
    if (b.tokens < 1) throw new ServiceError(429, "TooManyRequests", `rate limit: ${limit.perSecond} requests per second per key (burst ${limit.burst}); retry shortly`);
    b.tokens -= 1;
  });
}
