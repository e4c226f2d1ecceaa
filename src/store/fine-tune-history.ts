// Fine-tune jobs (one per custom model: its state and attempt count, for resume after a crash), their
// event log and their per-step metrics history.

import type { Db } from "./db.ts";
import { inList } from "./sql.ts";

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

  async createJob(j: Omit<FineTuneJobRow, "attempts" | "timeUpdated">): Promise<void> {
    this.guard?.(j.modelId, null, j.state);
    await this.db.run(
      "INSERT INTO fine_tune_jobs (model_id, work_request_id, cluster_id, state, attempts, time_updated) VALUES (?, ?, ?, ?, 0, ?)",
      [j.modelId, j.workRequestId, j.clusterId, j.state, new Date().toISOString()],
    );
  }

  async job(modelId: string): Promise<FineTuneJobRow | null> {
    const r = await this.db.get<JobRow>("SELECT * FROM fine_tune_jobs WHERE model_id = ?", [modelId]);
    return r ? toJob(r) : null;
  }

  async jobsInStates(states: readonly JobState[]): Promise<FineTuneJobRow[]> {
    const rows = await this.db.all<JobRow>(
      `SELECT * FROM fine_tune_jobs WHERE ${inList("state", states.length)} ORDER BY time_updated`,
      states,
    );
    return rows.map(toJob);
  }

  /** the control plane's lifecycle check of a job's state (prev null: a new job) */
  guard: ((modelId: string, prev: JobState | null, next: JobState) => void) | null = null;

  /** Move a job to `state`; the guard sees the stored state as it is when written (one transaction). */
  setState(modelId: string, state: JobState, bumpAttempts = false): Promise<void> {
    return this.db.tx(async () => {
      if (this.guard) {
        const lock = this.db.dialect === "postgres" ? " FOR UPDATE" : "";
        const prev = await this.db.get<{ state: JobState }>(`SELECT state FROM fine_tune_jobs WHERE model_id = ?${lock}`, [modelId]);
        if (prev) this.guard(modelId, prev.state, state);
      }
      await this.db.run(
        `UPDATE fine_tune_jobs SET state = ?, time_updated = ?${bumpAttempts ? ", attempts = attempts + 1" : ""} WHERE model_id = ?`,
        [state, new Date().toISOString(), modelId],
      );
    });
  }

  async addEvent(modelId: string, level: FineTuneEvent["level"], message: string): Promise<void> {
    await this.db.run("INSERT INTO fine_tune_events (model_id, timestamp, level, message) VALUES (?, ?, ?, ?)", [
      modelId,
      new Date().toISOString(),
      level,
      message,
    ]);
  }

  async events(modelId: string, limit: number, offset: number): Promise<{ items: FineTuneEvent[]; more: boolean }> {
    const rows = await this.db.all<FineTuneEvent>(
      "SELECT timestamp, level, message FROM fine_tune_events WHERE model_id = ? ORDER BY seq LIMIT ? OFFSET ?",
      [modelId, limit + 1, offset],
    );
    return { items: rows.slice(0, limit), more: rows.length > limit };
  }

  /** Record a metrics point; a resumed job re-reporting a step overwrites it (`merge`: adds fields to it). */
  addMetrics(modelId: string, step: number, data: Record<string, unknown>, merge = false): Promise<void> {
    return this.db.tx(async () => {
      if (merge) {
        const old = await this.db.get<{ data: string }>("SELECT data FROM fine_tune_metrics WHERE model_id = ? AND step = ?", [
          modelId,
          step,
        ]);
        if (old) data = { ...(JSON.parse(old.data) as Record<string, unknown>), ...data };
      }
      await this.db.run(
        `INSERT INTO fine_tune_metrics (model_id, step, timestamp, data) VALUES (?, ?, ?, ?)
         ON CONFLICT (model_id, step) DO UPDATE SET timestamp = excluded.timestamp, data = excluded.data`,
        [modelId, step, new Date().toISOString(), JSON.stringify(data)],
      );
    });
  }

  async metrics(modelId: string): Promise<MetricsPoint[]> {
    const rows = await this.db.all<{ step: number; timestamp: string; data: string }>(
      "SELECT step, timestamp, data FROM fine_tune_metrics WHERE model_id = ? ORDER BY step",
      [modelId],
    );
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
