// Work requests (asynchronous operations) with their error and log entries.

import type { Db } from "./db.ts";
import type { ChangeGuard } from "./resource-table.ts";

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

  insert(w: T): void {
    this.guard?.(null, w);
    this.db
      .prepare("INSERT INTO work_requests (id, compartment_id, status, operation_type, time_accepted, body) VALUES (?, ?, ?, ?, ?, ?)")
      .run(w.id, w.compartmentId, w.status, w.operationType, w.timeAccepted, JSON.stringify(w));
  }

  get(id: string): T | null {
    const row = this.db.prepare("SELECT body FROM work_requests WHERE id = ?").get(id) as { body: string } | undefined;
    return row ? (JSON.parse(row.body) as T) : null;
  }

  update(w: T): void {
    if (this.guard) {
      const prev = this.get(w.id);
      if (prev) this.guard(prev, w);
    }
    this.db.prepare("UPDATE work_requests SET status = ?, body = ? WHERE id = ?").run(w.status, JSON.stringify(w), w.id);
  }

  /** Newest first; `resourceId` keeps those that touch that resource. */
  list(q: {
    compartmentIds: readonly string[];
    resourceId?: string;
    operationType?: string;
    status?: string;
    limit: number;
    offset: number;
  }): {
    items: T[];
    more: boolean;
  } {
    const cond = [`compartment_id IN (${q.compartmentIds.map(() => "?").join(",") || "NULL"})`];
    const args: unknown[] = [...q.compartmentIds];
    if (q.operationType) {
      cond.push("operation_type = ?");
      args.push(q.operationType);
    }
    if (q.status) {
      cond.push("status = ?");
      args.push(q.status);
    }
    const rows = this.db
      .prepare(`SELECT body FROM work_requests WHERE ${cond.join(" AND ")} ORDER BY time_accepted DESC, id DESC`)
      .all(...args) as { body: string }[];
    let docs = rows.map((r) => JSON.parse(r.body) as T & { resources?: { identifier: string }[] });
    if (q.resourceId) docs = docs.filter((d) => d.resources?.some((r) => r.identifier === q.resourceId));
    return { items: docs.slice(q.offset, q.offset + q.limit), more: docs.length > q.offset + q.limit };
  }

  /** Work requests not finished (start-up recovery). */
  unfinished(): T[] {
    const rows = this.db
      .prepare("SELECT body FROM work_requests WHERE status IN ('ACCEPTED', 'IN_PROGRESS', 'CANCELING') ORDER BY time_accepted")
      .all() as { body: string }[];
    return rows.map((r) => JSON.parse(r.body) as T);
  }

  addError(id: string, code: string, message: string): void {
    this.db
      .prepare("INSERT INTO work_request_errors (work_request_id, code, message, timestamp) VALUES (?, ?, ?, ?)")
      .run(id, code, message, new Date().toISOString());
  }

  addLog(id: string, message: string): void {
    this.db
      .prepare("INSERT INTO work_request_logs (work_request_id, message, timestamp) VALUES (?, ?, ?)")
      .run(id, message, new Date().toISOString());
  }

  errors(id: string, limit: number, offset: number): { items: WorkRequestEntry[]; more: boolean } {
    const rows = this.db
      .prepare("SELECT code, message, timestamp FROM work_request_errors WHERE work_request_id = ? ORDER BY seq LIMIT ? OFFSET ?")
      .all(id, limit + 1, offset) as WorkRequestEntry[];
    return { items: rows.slice(0, limit), more: rows.length > limit };
  }

  logs(id: string, limit: number, offset: number): { items: WorkRequestEntry[]; more: boolean } {
    const rows = this.db
      .prepare("SELECT message, timestamp FROM work_request_logs WHERE work_request_id = ? ORDER BY seq LIMIT ? OFFSET ?")
      .all(id, limit + 1, offset) as WorkRequestEntry[];
    return { items: rows.slice(0, limit), more: rows.length > limit };
  }
}
