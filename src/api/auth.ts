// API keys and rate limits: `Authorization: Bearer KEY` → the key's compartments; a token bucket per key,
// and one per client address for failed authentications (so keys cannot be guessed at full speed).

import type { FastifyInstance } from "fastify";
import type { ApiKeyRepo } from "../store/index.ts";
import { ServiceError } from "../control/index.ts";

export interface RateLimit {
  /** sustained requests per second per key */
  perSecond: number;
  /** requests a key may send at once above the sustained rate */
  burst: number;
}

/** Buckets kept at most; full ones are forgotten first (they hold nothing a new bucket would not). */
const MAX_BUCKETS = 100_000;

export function installAuth(app: FastifyInstance, keys: ApiKeyRepo, limit: RateLimit): void {
  const buckets = new Map<string, { tokens: number; at: number }>();
  /** Refill the bucket of `id` and take one token; false when it is empty. */
  const take = (id: string): boolean => {
    const now = Date.now();
    const b = buckets.get(id) ?? { tokens: limit.burst, at: now };
    b.tokens = Math.min(limit.burst, b.tokens + ((now - b.at) / 1000) * limit.perSecond);
    b.at = now;
    if (!buckets.has(id) && buckets.size >= MAX_BUCKETS) for (const [k, x] of buckets) if (x.tokens >= limit.burst - 1) buckets.delete(k);
    buckets.set(id, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  };
  const tooMany = (what: string) =>
    new ServiceError(
      429,
      "TooManyRequests",
      `rate limit: ${limit.perSecond} requests per second per ${what} (burst ${limit.burst}); retry shortly`,
    );
  /** a failed authentication costs the client's address a token; with none left it is refused before the key is looked at */
  const failed = (ip: string, e: ServiceError): ServiceError =>
    take(`ip:${ip}`) ? e : tooMany("client address for failed authentications");
  app.decorateRequest("scope", null as never);
  app.decorateRequest("keyId", null);
  app.addHook("onRequest", async (req) => {
    req.scope = { compartments: [] };
    if (req.routeOptions.config?.auth === false) return;
    const header = req.headers.authorization;
    const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    const ipBucket = buckets.get(`ip:${req.ip}`);
    if (ipBucket && ipBucket.tokens < 1 && ipBucket.tokens + ((Date.now() - ipBucket.at) / 1000) * limit.perSecond < 1)
      throw tooMany("client address for failed authentications");
    if (!m)
      throw failed(
        req.ip,
        new ServiceError(
          401,
          "NotAuthenticated",
          "send an API key as 'Authorization: Bearer KEY' (create one with `npx sprig key create --compartment-id ID`)",
        ),
      );
    const key = await keys.verify(m[1]!);
    if (!key) throw failed(req.ip, new ServiceError(401, "NotAuthenticated", "the API key is not valid (unknown or revoked)"));
    req.scope = { compartments: key.compartments, admin: key.admin };
    req.keyId = key.id;
    if (!take(key.id)) throw tooMany("key");
  });
}
