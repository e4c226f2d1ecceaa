// opc-retry-token rows: per API key and token, the fingerprint of the request that first used the token
// and, once it succeeded, the answer it got (status, headers, body). A row with no status is a request
// still running. The rules (what matches, how long rows live) are the control plane's (control/idempotency.ts).

import type { Db } from "./db.ts";

export interface RetryTokenRow {
  keyId: string;
  token: string;
  /** fingerprint of method, path and body of the first request */
  requestHash: string;
  /** null while the first request runs */
  response: { status: number; headers: Record<string, string>; body: string } | null;
  timeCreated: string;
}

interface Row {
  key_id: string;
  token: string;
  request_hash: string;
  status: number | null;
  headers: string | null;
  body: string | null;
  time_created: string;
}

export class RetryTokenRepo {
  constructor(private readonly db: Db) {}

  get(keyId: string, token: string): RetryTokenRow | null {
    const r = this.db.prepare("SELECT * FROM retry_tokens WHERE key_id = ? AND token = ?").get(keyId, token) as Row | undefined;
    if (!r) return null;
    return {
      keyId: r.key_id,
      token: r.token,
      requestHash: r.request_hash,
      response:
        r.status === null
          ? null
          : { status: r.status, headers: JSON.parse(r.headers ?? "{}") as Record<string, string>, body: r.body ?? "" },
      timeCreated: r.time_created,
    };
  }

  /** Claim a token for a request; false when the token already has a row. */
  claim(keyId: string, token: string, requestHash: string, timeCreated: string): boolean {
    return (
      this.db
        .prepare("INSERT INTO retry_tokens (key_id, token, request_hash, time_created) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING")
        .run(keyId, token, requestHash, timeCreated).changes === 1
    );
  }

  /** Record the answer of the request that claimed the token. */
  complete(keyId: string, token: string, response: NonNullable<RetryTokenRow["response"]>): void {
    this.db
      .prepare("UPDATE retry_tokens SET status = ?, headers = ?, body = ? WHERE key_id = ? AND token = ?")
      .run(response.status, JSON.stringify(response.headers), response.body, keyId, token);
  }

  /** Forget a claim (the request failed: the token may be used again). */
  release(keyId: string, token: string): void {
    this.db.prepare("DELETE FROM retry_tokens WHERE key_id = ? AND token = ?").run(keyId, token);
  }

  /** Drop rows created before `before` (ISO time); returns how many. */
  purge(before: string): number {
    return this.db.prepare("DELETE FROM retry_tokens WHERE time_created < ?").run(before).changes;
  }
}
