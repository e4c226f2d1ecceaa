// A table of resources stored as JSON documents: insert, get, compare-and-set updates on an etag, and
// compartment-scoped listing with offset pagination. The document is the source of truth; the indexed
// columns are derived from it on every write.

import { randomBytes } from "node:crypto";
import type { Db } from "./db.ts";

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

  insert(value: T): string {
    this.guard?.(null, value);
    const etag = newEtag();
    this.db
      .prepare(
        `INSERT INTO ${this.table} (id, compartment_id, lifecycle_state, display_name, time_created, etag, body) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(value.id, value.compartmentId, value.lifecycleState, value.displayName, value.timeCreated, etag, JSON.stringify(value));
    return etag;
  }

  get(id: string): Versioned<T> | null {
    const row = this.db.prepare(`SELECT body, etag FROM ${this.table} WHERE id = ?`).get(id) as { body: string; etag: string } | undefined;
    return row ? { value: JSON.parse(row.body) as T, etag: row.etag } : null;
  }

  /**
   * Replace the document. With `ifEtag`, only when the stored etag still matches (compare-and-set);
   * returns the new etag, or null when the row is gone or the etag moved on.
   */
  update(value: T, ifEtag?: string): string | null {
    if (this.guard) {
      const prev = this.get(value.id);
      if (prev) this.guard(prev.value, value);
    }
    const etag = newEtag();
    const sql = `UPDATE ${this.table} SET compartment_id = ?, lifecycle_state = ?, display_name = ?, etag = ?, body = ? WHERE id = ?${ifEtag === undefined ? "" : " AND etag = ?"}`;
    const args = [value.compartmentId, value.lifecycleState, value.displayName, etag, JSON.stringify(value), value.id];
    const r = this.db.prepare(sql).run(...(ifEtag === undefined ? args : [...args, ifEtag]));
    return r.changes === 1 ? etag : null;
  }

  delete(id: string): boolean {
    return this.db.prepare(`DELETE FROM ${this.table} WHERE id = ?`).run(id).changes === 1;
  }

  /** Every row in one of these lifecycle states (start-up recovery). */
  inStates(states: readonly string[]): T[] {
    const rows = this.db
      .prepare(`SELECT body FROM ${this.table} WHERE lifecycle_state IN (${states.map(() => "?").join(",")}) ORDER BY time_created, id`)
      .all(...states) as { body: string }[];
    return rows.map((r) => JSON.parse(r.body) as T);
  }

  list(q: TableQuery): ListPage<T> {
    const cond: string[] = [];
    const args: unknown[] = [];
    const comp = q.compartmentIds.length ? `compartment_id IN (${q.compartmentIds.map(() => "?").join(",")})` : "0";
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
    let docs = (this.db.prepare(sql).all(...args) as { body: string }[]).map((r) => JSON.parse(r.body) as T);
    if (q.where) docs = docs.filter(q.where);
    return { items: docs.slice(q.offset, q.offset + q.limit), more: docs.length > q.offset + q.limit };
  }

  count(where: (doc: T) => boolean): number {
    const rows = this.db.prepare(`SELECT body FROM ${this.table}`).all() as { body: string }[];
    return rows.filter((r) => where(JSON.parse(r.body) as T)).length;
  }
}
