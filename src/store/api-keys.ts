// API keys: a random 32-byte secret shown once; only its SHA-256 is stored (the secret has 256 bits of
// entropy, so a slow hash adds nothing), and lookups compare hashes in constant time.

import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Db } from "./db.ts";

export interface ApiKey {
  id: string;
  displayName: string;
  /** the compartments this key may see and touch */
  compartments: string[];
  /** may use the operator's admin view (nodes, capacity, reservations of every compartment) */
  admin: boolean;
  timeCreated: string;
  timeRevoked: string | null;
}

/** Prefix of every key, so leaked keys are recognisable (e.g. by secret scanners). */
export const KEY_PREFIX = "sprig_";

const hash = (key: string): Buffer => createHash("sha256").update(key, "utf8").digest();

export class ApiKeyRepo {
  constructor(private readonly db: Db) {}

  /** Create a key; the secret is returned here and never again. */
  async create(compartments: string[], displayName = "", o: { admin?: boolean } = {}): Promise<{ key: string; record: ApiKey }> {
    const id = `key_${randomBytes(8).toString("hex")}`;
    const key = `${KEY_PREFIX}${randomBytes(32).toString("base64url")}`;
    const record: ApiKey = {
      id,
      displayName,
      compartments,
      admin: o.admin === true,
      timeCreated: new Date().toISOString(),
      timeRevoked: null,
    };
    await this.db.run("INSERT INTO api_keys (id, key_hash, compartments, display_name, time_created, admin) VALUES (?, ?, ?, ?, ?, ?)", [
      id,
      hash(key).toString("hex"),
      JSON.stringify(compartments),
      displayName,
      record.timeCreated,
      record.admin ? 1 : 0,
    ]);
    return { key, record };
  }

  /** The live key whose secret this is, or null. */
  async verify(key: string): Promise<ApiKey | null> {
    const h = hash(key);
    // the lookup by hash is an index probe; the constant-time compare guards the final equality
    const row = await this.db.get<KeyRow>("SELECT * FROM api_keys WHERE key_hash = ?", [h.toString("hex")]);
    if (!row || !timingSafeEqual(Buffer.from(row.key_hash, "hex"), h) || row.time_revoked) return null;
    return toKey(row);
  }

  async list(): Promise<ApiKey[]> {
    return (await this.db.all<KeyRow>("SELECT * FROM api_keys ORDER BY time_created, id")).map(toKey);
  }

  async revoke(id: string): Promise<boolean> {
    const r = await this.db.run("UPDATE api_keys SET time_revoked = ? WHERE id = ? AND time_revoked IS NULL", [
      new Date().toISOString(),
      id,
    ]);
    return r.changes === 1;
  }
}

interface KeyRow {
  id: string;
  key_hash: string;
  compartments: string;
  display_name: string;
  time_created: string;
  time_revoked: string | null;
  admin: number;
}

const toKey = (r: KeyRow): ApiKey => ({
  id: r.id,
  displayName: r.display_name,
  compartments: JSON.parse(r.compartments) as string[],
  admin: r.admin === 1,
  timeCreated: r.time_created,
  timeRevoked: r.time_revoked,
});
