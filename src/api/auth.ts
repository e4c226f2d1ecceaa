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

/** Buckets kept at most by default (a few MB); the least recently used one goes first. */
const MAX_BUCKETS = 100_000;

/**
 * Token buckets by id (a key, or a client address for failed authentications), kept in least-recently-used
 * order so the map stays at most `max` long however many ids ever came: the one evicted is the bucket
 * untouched the longest, which would have refilled by then unless `max` others were used since.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly limit: RateLimit,
    private readonly max = MAX_BUCKETS,
  ) {}

  get size(): number {
    return this.buckets.size;
  }

  private level(id: string, now: number): number {
    const b = this.buckets.get(id);
    return b ? Math.min(this.limit.burst, b.tokens + ((now - b.at) / 1000) * this.limit.perSecond) : this.limit.burst;
  }

  /** Whether `id` has less than one token now (nothing is taken). */
  empty(id: string, now = Date.now()): boolean {
    return this.level(id, now) < 1;
  }

  /** Refill the bucket of `id` and take one token; false when it is empty. */
  take(id: string, now = Date.now()): boolean {
    const tokens = this.level(id, now);
    this.buckets.delete(id); // re-inserted last: the map's order is least recently used first
    if (this.buckets.size >= this.max) this.buckets.delete(this.buckets.keys().next().value!);
    const ok = tokens >= 1;
    this.buckets.set(id, { tokens: ok ? tokens - 1 : tokens, at: now });
    return ok;
  }
}

export function installAuth(app: FastifyInstance, keys: ApiKeyRepo, limit: RateLimit): void {
  const buckets = new TokenBuckets(limit);
  const take = (id: string): boolean => buckets.take(id);
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
    if (buckets.empty(`ip:${req.ip}`)) throw tooMany("client address for failed authentications");
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
