// opc-retry-token (OCI's idempotency header) on creates: the first successful answer to a token is kept,
// per API key, for the retention window (24 h by default, `retryTokenRetentionHours`). The same token with
// the same request (method, path and JSON body, key order ignored) within the window gets that answer
// again and creates nothing; with another request it is a 409. A request that fails keeps nothing, so
// its retry runs afresh. Answers are in the store, so a retry after a restart is answered the same way.

import { createHash } from "node:crypto";
import type { RetryTokenRepo } from "../store/index.ts";
import { ServiceError, badRequest, conflict } from "./errors.ts";

/** What OCI allows in a retry token: up to 64 visible ASCII characters. */
const TOKEN = /^[\x21-\x7e]{1,64}$/;

export interface StoredAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type RetryDecision =
  /** the first answer to this token: send it again */
  | { kind: "replay"; answer: StoredAnswer }
  /** run the request, then `finish` with its answer (kept only when it succeeded) */
  | { kind: "run"; finish: (answer: StoredAnswer) => Promise<void> };

/** A stable text of a JSON value: object keys sorted, so `{a, b}` and `{b, a}` are one request. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v !== null && typeof v === "object")
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v) ?? "null";
}

export class Idempotency {
  constructor(
    private readonly repo: RetryTokenRepo,
    /** how long a token's answer is kept */
    readonly retentionMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Decide what a request carrying `token` does. Throws 400 for a malformed token, 409 for a reused one. */
  async begin(keyId: string, token: string, request: { method: string; path: string; body: unknown }): Promise<RetryDecision> {
    if (!TOKEN.test(token)) throw badRequest("opc-retry-token: 1 to 64 visible ASCII characters (no spaces)");
    const now = this.clock();
    await this.repo.purge(new Date(now - this.retentionMs).toISOString());
    const hash = createHash("sha256")
      .update(`${request.method} ${request.path}\n${canonical(request.body ?? null)}`)
      .digest("hex");
    if (!(await this.repo.claim(keyId, token, hash, new Date(now).toISOString()))) {
      const row = await this.repo.get(keyId, token);
      // purged or released between the two statements: nothing else is racing for it now
      if (!row) return this.begin(keyId, token, request);
      const hours = Math.round((this.retentionMs / 3_600_000) * 100) / 100;
      if (row.requestHash !== hash)
        throw conflict(
          `opc-retry-token ${token} was used in the last ${hours} h for a different request (another path or body); a new request needs a new token`,
        );
      if (!row.response)
        throw new ServiceError(409, "Conflict", `the request with opc-retry-token ${token} is still being processed: retry it shortly`);
      return { kind: "replay", answer: row.response };
    }
    let done = false;
    return {
      kind: "run",
      finish: async (answer) => {
        if (done) return;
        done = true;
        if (answer.status >= 200 && answer.status < 300) await this.repo.complete(keyId, token, answer);
        else await this.repo.release(keyId, token);
      },
    };
  }
}
