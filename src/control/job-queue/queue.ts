// The fine-tune job queue on pg-boss: one queue per node (`fine-tune.<node id>`), so a job is claimed
// only by the node that holds its cluster's reservation; at most one live job (queued, retrying or
// running) per fine-tune across every node's queue; and a session lock per fine-tune so a job that
// expired and came back (or was re-queued while its old node still runs) never runs twice at once.

import PgBoss from "pg-boss";
import type pg from "pg";
import type { SprigStore } from "../context.ts";
import type { FineTuneOutcome, FineTuneSpec } from "../executors.ts";
import { PostgresDb } from "../../store/index.ts";

/** What a queued job carries: the spec the node's worker process runs (paths sit in shared storage). */
export interface FineTuneJobData {
  spec: FineTuneSpec;
}

/** One job of the queue, as the consumer and the waiting control plane see it. */
export interface QueuedJob {
  id: string;
  queue: string;
  /** the fine-tune (custom model id) */
  modelId: string;
  state: "created" | "retry" | "active" | "completed" | "cancelled" | "failed";
  data: FineTuneJobData;
  /** what the consumer reported when it completed the job (completed), or pg-boss's reason (failed) */
  output: { outcome?: FineTuneOutcome; message?: string; value?: { message?: string } } | null;
}

/** A held lock on one fine-tune; `release` ends it (a process that dies releases it with its connection). */
export interface RunLock {
  release(): Promise<void>;
}

/** The queue as the executor, the consumer and the re-queue hook use it; tests use an in-process fake. */
export interface FineTuneQueue {
  /** Queue `spec` for its unit's node, unless the fine-tune already has a live job: returns that job's id then. */
  enqueue(spec: FineTuneSpec): Promise<string>;
  /** The fine-tune's newest job, or null. */
  current(modelId: string): Promise<QueuedJob | null>;
  /** Claim up to `n` queued jobs of a node (they become active). */
  claim(nodeId: string, n: number): Promise<QueuedJob[]>;
  /** Jobs of a node in these states. */
  jobsOf(nodeId: string, states: readonly QueuedJob["state"][]): Promise<QueuedJob[]>;
  /** Finish an active job with the run's outcome (a no-op when the job is no longer active). */
  complete(job: QueuedJob, outcome: FineTuneOutcome): Promise<void>;
  /** Fail a job: pg-boss retries it on its node while it has retries left, unless `retry` is false. */
  fail(job: QueuedJob, message: string, retry?: boolean): Promise<void>;
  /** In one transaction: cancel `job` and queue the fine-tune again with `spec` (another unit, maybe another node). */
  move(job: QueuedJob, spec: FineTuneSpec): Promise<string>;
  /** The fine-tune's run lock, or null while another session holds it. */
  tryLock(modelId: string): Promise<RunLock | null>;
  close(): Promise<void>;
}

export const queueOf = (nodeId: string): string => `fine-tune.${nodeId}`;

/** How jobs are kept. */
export interface QueueSettings {
  /** an active job whose consumer stays silent this long is failed and retried (pg-boss expiry; at most 23 h) */
  expireInSeconds?: number;
  /** how many times an expired or failed job is tried again on its node */
  retryLimit?: number;
}

const DEFAULTS = { expireInSeconds: 23 * 3600, retryLimit: 3 } satisfies Required<QueueSettings>;
/** the advisory-lock namespace of fine-tune runs (the second key is the fine-tune id's hash); +1 enqueues, +2 schema changes */
const LOCK_CLASS = 0x5f7;
const SCHEMA_LOCK = [LOCK_CLASS + 2, 0] as const;
const SCHEMA = "pgboss";

type Exec = PgBoss.Db;
const execOn = (c: pg.Pool | pg.PoolClient): Exec => ({
  executeSql: async (text, values) => ({ rows: (await c.query(text, values)).rows }),
});

interface JobDbRow {
  id: string;
  name: string;
  state: QueuedJob["state"];
  singleton_key: string;
  data: FineTuneJobData;
  output: QueuedJob["output"];
}
const toJob = (r: JobDbRow): QueuedJob => ({
  id: r.id,
  queue: r.name,
  modelId: r.singleton_key,
  state: r.state,
  data: r.data,
  output: r.output,
});
const COLUMNS = "id, name, state, singleton_key, data, output";

/** Run `fn` holding the session lock of pg-boss schema changes (on a connection of its own, released after). */
async function schemaLocked<R>(pool: pg.Pool, fn: () => Promise<R>): Promise<R> {
  const c = await pool.connect();
  try {
    await c.query("SELECT pg_advisory_lock($1, $2)", [...SCHEMA_LOCK]);
  } catch (e) {
    c.release(e as Error);
    throw e;
  }
  try {
    return await fn();
  } finally {
    try {
      await c.query("SELECT pg_advisory_unlock($1, $2)", [...SCHEMA_LOCK]);
      c.release();
    } catch (e) {
      // destroying the connection ends its session, and the lock with it
      c.release(e as Error);
    }
  }
}

/** pg-boss on the store's own connection pool (schema `pgboss`, created and migrated by pg-boss at start). */
export class PgBossQueue implements FineTuneQueue {
  private readonly known = new Set<string>();
  private readonly settings: Required<QueueSettings>;

  private constructor(
    private readonly boss: PgBoss,
    private readonly pool: pg.Pool,
    s: QueueSettings,
  ) {
    this.settings = { ...DEFAULTS, ...s };
  }

  static async open(pool: pg.Pool, s: QueueSettings = {}, onError: (e: Error) => void = () => {}): Promise<PgBossQueue> {
    // no cron schedules; maintenance (expiry of silent jobs) runs in every process, pg-boss serialises it
    const boss = new PgBoss({ db: execOn(pool), schema: SCHEMA, schedule: false, supervise: true });
    boss.on("error", onError);
    // several nodes starting at once on a fresh database: one installs or migrates the schema, the others wait
    await schemaLocked(pool, () => boss.start());
    return new PgBossQueue(boss, pool, s);
  }

  private async ensureQueue(name: string): Promise<void> {
    if (this.known.has(name)) return;
    if (!(await this.boss.getQueue(name)))
      // pg-boss's create_queue adds a partition of the job table and a foreign key to the queue table: two
      // processes creating two queues at once deadlock (PostgreSQL aborts one), so creations take turns.
      // Idempotent: create_queue does nothing for a queue that exists.
      await schemaLocked(this.pool, () =>
        this.boss.createQueue(name, {
          name,
          policy: "standard",
          retryLimit: this.settings.retryLimit,
          expireInSeconds: this.settings.expireInSeconds,
        }),
      );
    this.known.add(name);
  }

  /** Run `fn` in one transaction holding the fine-tune's enqueue lock (two enqueues of one job run one after the other). */
  private async locked<R>(modelId: string, fn: (db: Exec) => Promise<R>): Promise<R> {
    const c = await this.pool.connect();
    try {
      await c.query("BEGIN");
      await c.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [LOCK_CLASS + 1, modelId]);
      const r = await fn(execOn(c));
      await c.query("COMMIT");
      return r;
    } catch (e) {
      await c.query("ROLLBACK").catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  }

  private async live(modelId: string, db: Exec): Promise<JobDbRow | undefined> {
    const r = await db.executeSql(
      `SELECT ${COLUMNS} FROM ${SCHEMA}.job WHERE singleton_key = $1 AND name LIKE 'fine-tune.%' AND state < 'completed' ORDER BY created_on DESC LIMIT 1`,
      [modelId],
    );
    return r.rows[0] as JobDbRow | undefined;
  }

  private async send(spec: FineTuneSpec, db: Exec): Promise<string> {
    const name = queueOf(spec.unit.nodeId);
    await this.ensureQueue(name);
    const id = await this.boss.send(name, { spec } satisfies FineTuneJobData, {
      singletonKey: spec.jobId,
      retryLimit: this.settings.retryLimit,
      expireInSeconds: this.settings.expireInSeconds,
      db,
    });
    if (!id) throw new Error(`pg-boss refused the job of fine-tune ${spec.jobId} on ${name}`);
    return id;
  }

  enqueue(spec: FineTuneSpec): Promise<string> {
    return this.locked(spec.jobId, async (db) => (await this.live(spec.jobId, db))?.id ?? this.send(spec, db));
  }

  move(job: QueuedJob, spec: FineTuneSpec): Promise<string> {
    return this.locked(job.modelId, async (db) => {
      await this.boss.cancel(job.queue, job.id, { db });
      return this.send(spec, db);
    });
  }

  async current(modelId: string): Promise<QueuedJob | null> {
    // the archive holds jobs pg-boss moved out of the job table (completed jobs, after a while)
    for (const table of ["job", "archive"]) {
      const r = await this.pool.query<JobDbRow>(
        `SELECT ${COLUMNS} FROM ${SCHEMA}.${table} WHERE singleton_key = $1 AND name LIKE 'fine-tune.%' ORDER BY created_on DESC LIMIT 1`,
        [modelId],
      );
      if (r.rows[0]) return toJob(r.rows[0]);
    }
    return null;
  }

  async claim(nodeId: string, n: number): Promise<QueuedJob[]> {
    const name = queueOf(nodeId);
    await this.ensureQueue(name);
    const jobs = await this.boss.fetch<FineTuneJobData>(name, { batchSize: n, includeMetadata: true });
    return jobs.map((j) => ({
      id: j.id,
      queue: name,
      modelId: j.singletonKey ?? j.data.spec.jobId,
      state: "active" as const,
      data: j.data,
      output: null,
    }));
  }

  async jobsOf(nodeId: string, states: readonly QueuedJob["state"][]): Promise<QueuedJob[]> {
    const r = await this.pool.query<JobDbRow>(
      `SELECT ${COLUMNS} FROM ${SCHEMA}.job WHERE name = $1 AND state = ANY($2::${SCHEMA}.job_state[]) ORDER BY created_on`,
      [queueOf(nodeId), states],
    );
    return r.rows.map(toJob);
  }

  async complete(job: QueuedJob, outcome: FineTuneOutcome): Promise<void> {
    await this.boss.complete(job.queue, job.id, { outcome });
  }

  async fail(job: QueuedJob, message: string, retry = true): Promise<void> {
    if (retry) await this.boss.fail(job.queue, job.id, { message });
    // pg-boss's fail always retries while retries are left: a final failure is written directly
    else
      await this.pool.query(
        `UPDATE ${SCHEMA}.job SET state = 'failed', completed_on = now(), output = $3::jsonb WHERE name = $1 AND id = $2 AND state < 'completed'`,
        [job.queue, job.id, JSON.stringify({ message })],
      );
  }

  async tryLock(modelId: string): Promise<RunLock | null> {
    // a session lock on a connection of its own, held for the whole run
    const c = await this.pool.connect();
    try {
      const r = await c.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok", [LOCK_CLASS, modelId]);
      if (!r.rows[0]?.ok) {
        c.release();
        return null;
      }
    } catch (e) {
      c.release(e as Error);
      throw e;
    }
    let released = false;
    // a failure of the idle connection (the server restarted) emits here; the lock ended with the session,
    // and the run's next store write or the job's expiry settles the rest
    c.on("error", () => {});
    return {
      release: async () => {
        if (released) return;
        released = true;
        try {
          await c.query("SELECT pg_advisory_unlock($1, hashtext($2))", [LOCK_CLASS, modelId]);
          c.release();
        } catch (e) {
          // a broken connection: destroying it ends the session, and the lock with it
          c.release(e as Error);
        }
      },
    };
  }

  async close(): Promise<void> {
    // the pool is the store's: the store closes it
    await this.boss.stop({ graceful: false, close: false, wait: true });
  }
}

/** The queue on a PostgreSQL store's connection pool; refused on SQLite (the embedded mode forks workers itself). */
export async function openFineTuneQueue(
  store: SprigStore,
  settings: QueueSettings = {},
  onError?: (e: Error) => void,
): Promise<PgBossQueue> {
  if (!(store.db instanceof PostgresDb))
    throw new Error("the fine-tune job queue needs the PostgreSQL store (--database postgres://…); SQLite runs fine-tunes locally");
  return PgBossQueue.open(store.db.pool, settings, onError);
}
