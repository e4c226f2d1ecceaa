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

  async get(keyId: string, token: string): Promise<RetryTokenRow | null> {
    const r = await this.db.get<Row>("SELECT * FROM retry_tokens WHERE key_id = ? AND token = ?", [keyId, token]);
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

  /** Claim a token for a request; false when the token already has a row (both dialects: ON CONFLICT DO NOTHING). */
  async claim(keyId: string, token: string, requestHash: string, timeCreated: string): Promise<boolean> {
    const r = await this.db.run(
      "INSERT INTO retry_tokens (key_id, token, request_hash, time_created) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
      [keyId, token, requestHash, timeCreated],
    );
    return r.changes === 1;
  }

  /** Record the answer of the request that claimed the token. */
  async complete(keyId: string, token: string, response: NonNullable<RetryTokenRow["response"]>): Promise<void> {
    await this.db.run("UPDATE retry_tokens SET status = ?, headers = ?, body = ? WHERE key_id = ? AND token = ?", [
      response.status,
      JSON.stringify(response.headers),
      response.body,
      keyId,
      token,
    ]);
  }

  /** Forget a claim (the request failed: the token may be used again). */
  async release(keyId: string, token: string): Promise<void> {
    await this.db.run("DELETE FROM retry_tokens WHERE key_id = ? AND token = ?", [keyId, token]);
  }

  /** Drop rows created before `before` (ISO time); returns how many. */
  async purge(before: string): Promise<number> {
    return (await this.db.run("DELETE FROM retry_tokens WHERE time_created < ?", [before])).changes;
  }
}
