// A table of resources stored as JSON documents: insert, get, compare-and-set updates on an etag, and
// compartment-scoped listing with offset pagination. The document is the source of truth; the indexed
// columns are derived from it on every write.

import { randomBytes } from "node:crypto";
import type { Db } from "./db.ts";
import { type SqlValue, inList } from "./sql.ts";

/** The fields every stored resource has (OCI names). */
export interface StoredResource {
  id: string;
  /** null: visible in every compartment (e.g. the bundled base model) */
  compartmentId: string | null;
  lifecycleState: string;
  displayName: string;
  timeCreated: string;
}

export interface Versioned<T> {
  value: T;
  etag: string;
}

/** One listing of a table: resolved scope, filters, order and offset (what an API ListQuery becomes in control). */
export interface TableQuery {
  /** compartments the caller may see; rows with a null compartment are included when `includeGlobal` */
  compartmentIds: readonly string[];
  includeGlobal?: boolean;
  /** exact filters on indexed columns */
  lifecycleState?: string;
  displayName?: string;
  /** any further filter, applied to the document (after the SQL filters) */
  where?: (doc: unknown) => boolean;
  sortBy?: "timeCreated" | "displayName";
  sortOrder?: "ASC" | "DESC";
  limit: number;
  offset: number;
}

export interface ListPage<T> {
  items: T[];
  /** true when rows after this page exist */
  more: boolean;
}

export const newEtag = (): string => randomBytes(12).toString("hex");

/** Checks a change of a stored value before it is written (prev null: an insert); throws to refuse it. */
export type ChangeGuard<T> = (prev: T | null, next: T) => void;

export class ResourceTable<T extends StoredResource> {
  /** the control plane's lifecycle check, run on every insert and update */
  guard: ChangeGuard<T> | null = null;

  constructor(
    private readonly db: Db,
    private readonly table: string,
  ) {}

  async insert(value: T): Promise<string> {
    this.guard?.(null, value);
    const etag = newEtag();
    await this.db.run(
      `INSERT INTO ${this.table} (id, compartment_id, lifecycle_state, display_name, time_created, etag, body) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [value.id, value.compartmentId, value.lifecycleState, value.displayName, value.timeCreated, etag, JSON.stringify(value)],
    );
    return etag;
  }

  async get(id: string): Promise<Versioned<T> | null> {
    const row = await this.db.get<{ body: string; etag: string }>(`SELECT body, etag FROM ${this.table} WHERE id = ?`, [id]);
    return row ? { value: JSON.parse(row.body) as T, etag: row.etag } : null;
  }

  /**
   * Inside a transaction, the row locked until the transaction ends (PostgreSQL: SELECT … FOR UPDATE;
   * SQLite's transactions exclude each other already): for read-check-write rules such as a cluster's capacity.
   */
  async getForUpdate(id: string): Promise<Versioned<T> | null> {
    const lock = this.db.dialect === "postgres" ? " FOR UPDATE" : "";
    const row = await this.db.get<{ body: string; etag: string }>(`SELECT body, etag FROM ${this.table} WHERE id = ?${lock}`, [id]);
    return row ? { value: JSON.parse(row.body) as T, etag: row.etag } : null;
  }

  /**
   * Replace the document. With `ifEtag`, only when the stored etag still matches (compare-and-set);
   * returns the new etag, or null when the row is gone or the etag moved on. The guard sees the row as it
   * is when written: read (locked on PostgreSQL) and write are one transaction.
   */
  update(value: T, ifEtag?: string): Promise<string | null> {
    return this.db.tx(async () => {
      if (this.guard) {
        const lock = this.db.dialect === "postgres" ? " FOR UPDATE" : "";
        const prev = await this.db.get<{ body: string }>(`SELECT body FROM ${this.table} WHERE id = ?${lock}`, [value.id]);
        if (prev) this.guard(JSON.parse(prev.body) as T, value);
      }
      const etag = newEtag();
      const sql = `UPDATE ${this.table} SET compartment_id = ?, lifecycle_state = ?, display_name = ?, etag = ?, body = ? WHERE id = ?${ifEtag === undefined ? "" : " AND etag = ?"}`;
      const args = [value.compartmentId, value.lifecycleState, value.displayName, etag, JSON.stringify(value), value.id];
      const r = await this.db.run(sql, ifEtag === undefined ? args : [...args, ifEtag]);
      return r.changes === 1 ? etag : null;
    });
  }

  async delete(id: string): Promise<boolean> {
    return (await this.db.run(`DELETE FROM ${this.table} WHERE id = ?`, [id])).changes === 1;
  }

  /** Every row in one of these lifecycle states (start-up recovery). */
  async inStates(states: readonly string[]): Promise<T[]> {
    const rows = await this.db.all<{ body: string }>(
      `SELECT body FROM ${this.table} WHERE ${inList("lifecycle_state", states.length)} ORDER BY time_created, id`,
      states,
    );
    return rows.map((r) => JSON.parse(r.body) as T);
  }

  async list(q: TableQuery): Promise<ListPage<T>> {
    const cond: string[] = [];
    const args: SqlValue[] = [];
    const comp = inList("compartment_id", q.compartmentIds.length);
    cond.push(q.includeGlobal ? `(${comp} OR compartment_id IS NULL)` : comp);
    args.push(...q.compartmentIds);
    if (q.lifecycleState !== undefined) {
      cond.push("lifecycle_state = ?");
      args.push(q.lifecycleState);
    }
    if (q.displayName !== undefined) {
      cond.push("display_name = ?");
      args.push(q.displayName);
    }
    const col = q.sortBy === "displayName" ? "display_name" : "time_created";
    const dir = q.sortOrder === "ASC" ? "ASC" : "DESC";
    const sql = `SELECT body FROM ${this.table} WHERE ${cond.join(" AND ")} ORDER BY ${col} ${dir}, id ${dir}`;
    let docs = (await this.db.all<{ body: string }>(sql, args)).map((r) => JSON.parse(r.body) as T);
    if (q.where) docs = docs.filter(q.where);
    return { items: docs.slice(q.offset, q.offset + q.limit), more: docs.length > q.offset + q.limit };
  }

  async count(where: (doc: T) => boolean): Promise<number> {
    const rows = await this.db.all<{ body: string }>(`SELECT body FROM ${this.table}`);
    return rows.filter((r) => where(JSON.parse(r.body) as T)).length;
  }
}
