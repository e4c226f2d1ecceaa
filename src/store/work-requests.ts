// Work requests (asynchronous operations) with their error and log entries.

import type { Db } from "./db.ts";
import type { ChangeGuard } from "./resource-table.ts";
import { type SqlValue, inList } from "./sql.ts";

/** The stored fields of a work request; the document holds the rest. */
export interface StoredWorkRequest {
  id: string;
  compartmentId: string | null;
  status: string;
  operationType: string;
  timeAccepted: string;
}

export interface WorkRequestEntry {
  code?: string;
  message: string;
  timestamp: string;
}

export class WorkRequestRepo<T extends StoredWorkRequest> {
  /** the control plane's lifecycle check of `status`, run on every insert and update */
  guard: ChangeGuard<T> | null = null;

  constructor(private readonly db: Db) {}

  async insert(w: T): Promise<void> {
    this.guard?.(null, w);
    await this.db.run(
      "INSERT INTO work_requests (id, compartment_id, status, operation_type, time_accepted, body) VALUES (?, ?, ?, ?, ?, ?)",
      [w.id, w.compartmentId, w.status, w.operationType, w.timeAccepted, JSON.stringify(w)],
    );
  }

  async get(id: string): Promise<T | null> {
    const row = await this.db.get<{ body: string }>("SELECT body FROM work_requests WHERE id = ?", [id]);
    return row ? (JSON.parse(row.body) as T) : null;
  }

  /** Replace the document; the guard sees the stored status as it is when written (one transaction). */
  update(w: T): Promise<void> {
    return this.db.tx(async () => {
      if (this.guard) {
        const lock = this.db.dialect === "postgres" ? " FOR UPDATE" : "";
        const prev = await this.db.get<{ body: string }>(`SELECT body FROM work_requests WHERE id = ?${lock}`, [w.id]);
        if (prev) this.guard(JSON.parse(prev.body) as T, w);
      }
      await this.db.run("UPDATE work_requests SET status = ?, body = ? WHERE id = ?", [w.status, JSON.stringify(w), w.id]);
    });
  }

  /** Newest first; `resourceId` keeps those that touch that resource. */
  async list(q: {
    compartmentIds: readonly string[];
    resourceId?: string;
    operationType?: string;
    status?: string;
    limit: number;
    offset: number;
  }): Promise<{
    items: T[];
    more: boolean;
  }> {
    const cond = [inList("compartment_id", q.compartmentIds.length)];
    const args: SqlValue[] = [...q.compartmentIds];
    if (q.operationType) {
      cond.push("operation_type = ?");
      args.push(q.operationType);
    }
    if (q.status) {
      cond.push("status = ?");
      args.push(q.status);
    }
    const rows = await this.db.all<{ body: string }>(
      `SELECT body FROM work_requests WHERE ${cond.join(" AND ")} ORDER BY time_accepted DESC, id DESC`,
      args,
    );
    let docs = rows.map((r) => JSON.parse(r.body) as T & { resources?: { identifier: string }[] });
    if (q.resourceId) docs = docs.filter((d) => d.resources?.some((r) => r.identifier === q.resourceId));
    return { items: docs.slice(q.offset, q.offset + q.limit), more: docs.length > q.offset + q.limit };
  }

  /** Work requests not finished (start-up recovery). */
  async unfinished(): Promise<T[]> {
    const rows = await this.db.all<{ body: string }>(
      "SELECT body FROM work_requests WHERE status IN ('ACCEPTED', 'IN_PROGRESS', 'CANCELING') ORDER BY time_accepted",
    );
    return rows.map((r) => JSON.parse(r.body) as T);
  }

  async addError(id: string, code: string, message: string): Promise<void> {
    await this.db.run("INSERT INTO work_request_errors (work_request_id, code, message, timestamp) VALUES (?, ?, ?, ?)", [
      id,
      code,
      message,
      new Date().toISOString(),
    ]);
  }

  async addLog(id: string, message: string): Promise<void> {
    await this.db.run("INSERT INTO work_request_logs (work_request_id, message, timestamp) VALUES (?, ?, ?)", [
      id,
      message,
      new Date().toISOString(),
    ]);
  }

  async errors(id: string, limit: number, offset: number): Promise<{ items: WorkRequestEntry[]; more: boolean }> {
    const rows = await this.db.all<WorkRequestEntry>(
      "SELECT code, message, timestamp FROM work_request_errors WHERE work_request_id = ? ORDER BY seq LIMIT ? OFFSET ?",
      [id, limit + 1, offset],
    );
    return { items: rows.slice(0, limit), more: rows.length > limit };
  }

  async logs(id: string, limit: number, offset: number): Promise<{ items: WorkRequestEntry[]; more: boolean }> {
    const rows = await this.db.all<WorkRequestEntry>(
      "SELECT message, timestamp FROM work_request_logs WHERE work_request_id = ? ORDER BY seq LIMIT ? OFFSET ?",
      [id, limit + 1, offset],
    );
    return { items: rows.slice(0, limit), more: rows.length > limit };
  }
}
