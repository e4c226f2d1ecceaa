// Fine-tune jobs (one per custom model: its state and attempt count, for resume after a crash), their
// event log and their per-step metrics history.

import type { Db } from "./db.ts";

export type JobState = "QUEUED" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELED";

export interface FineTuneJobRow {
  modelId: string;
  workRequestId: string;
  clusterId: string;
  state: JobState;
  /** how many times a worker started this job (a resume after a crash is one more) */
  attempts: number;
  timeUpdated: string;
}

export interface FineTuneEvent {
  timestamp: string;
  level: "INFO" | "WARN" | "ERROR";
  message: string;
}

/** One point of the metrics history: the step and whatever the trainer reported (loss, accuracy, …). */
export interface MetricsPoint {
  step: number;
  timestamp: string;
  [key: string]: unknown;
}

export class FineTuneRepo {
  constructor(private readonly db: Db) {}

  createJob(j: Omit<FineTuneJobRow, "attempts" | "timeUpdated">): void {
    this.guard?.(j.modelId, null, j.state);
    this.db
      .prepare(
        "INSERT INTO fine_tune_jobs (model_id, work_request_id, cluster_id, state, attempts, time_updated) VALUES (?, ?, ?, ?, 0, ?)",
      )
      .run(j.modelId, j.workRequestId, j.clusterId, j.state, new Date().toISOString());
  }

  job(modelId: string): FineTuneJobRow | null {
    const r = this.db.prepare("SELECT * FROM fine_tune_jobs WHERE model_id = ?").get(modelId) as JobRow | undefined;
    return r ? toJob(r) : null;
  }

  jobsInStates(states: readonly JobState[]): FineTuneJobRow[] {
    const rows = this.db
      .prepare(`SELECT * FROM fine_tune_jobs WHERE state IN (${states.map(() => "?").join(",")}) ORDER BY time_updated`)
      .all(...states) as JobRow[];
    return rows.map(toJob);
  }

  /** the control plane's lifecycle check of a job's state (prev null: a new job) */
  guard: ((modelId: string, prev: JobState | null, next: JobState) => void) | null = null;

  setState(modelId: string, state: JobState, bumpAttempts = false): void {
    if (this.guard) {
      const prev = this.job(modelId);
      if (prev) this.guard(modelId, prev.state, state);
    }
    this.db
      .prepare(`UPDATE fine_tune_jobs SET state = ?, time_updated = ?${bumpAttempts ? ", attempts = attempts + 1" : ""} WHERE model_id = ?`)
      .run(state, new Date().toISOString(), modelId);
  }

  addEvent(modelId: string, level: FineTuneEvent["level"], message: string): void {
    this.db
      .prepare("INSERT INTO fine_tune_events (model_id, timestamp, level, message) VALUES (?, ?, ?, ?)")
      .run(modelId, new Date().toISOString(), level, message);
  }

  events(modelId: string, limit: number, offset: number): { items: FineTuneEvent[]; more: boolean } {
    const rows = this.db
      .prepare("SELECT timestamp, level, message FROM fine_tune_events WHERE model_id = ? ORDER BY seq LIMIT ? OFFSET ?")
      .all(modelId, limit + 1, offset) as FineTuneEvent[];
    return { items: rows.slice(0, limit), more: rows.length > limit };
  }

  /** Record a metrics point; a resumed job re-reporting a step overwrites it (`merge`: adds fields to it). */
  addMetrics(modelId: string, step: number, data: Record<string, unknown>, merge = false): void {
    if (merge) {
      const old = this.db.prepare("SELECT data FROM fine_tune_metrics WHERE model_id = ? AND step = ?").get(modelId, step) as
        { data: string } | undefined;
      if (old) data = { ...(JSON.parse(old.data) as Record<string, unknown>), ...data };
    }
    this.db
      .prepare("INSERT OR REPLACE INTO fine_tune_metrics (model_id, step, timestamp, data) VALUES (?, ?, ?, ?)")
      .run(modelId, step, new Date().toISOString(), JSON.stringify(data));
  }

  metrics(modelId: string): MetricsPoint[] {
    const rows = this.db.prepare("SELECT step, timestamp, data FROM fine_tune_metrics WHERE model_id = ? ORDER BY step").all(modelId) as {
      step: number;
      timestamp: string;
      data: string;
    }[];
    return rows.map((r) => ({ ...(JSON.parse(r.data) as Record<string, unknown>), step: r.step, timestamp: r.timestamp }));
  }
}

interface JobRow {
  model_id: string;
  work_request_id: string;
  cluster_id: string;
  state: JobState;
  attempts: number;
  time_updated: string;
}

const toJob = (r: JobRow): FineTuneJobRow => ({
  modelId: r.model_id,
  workRequestId: r.work_request_id,
  clusterId: r.cluster_id,
  state: r.state,
  attempts: r.attempts,
  timeUpdated: r.time_updated,
});
