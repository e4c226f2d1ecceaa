// The fine-tune scheduler lease: with several API nodes on one PostgreSQL database exactly one launches
// fine-tunes. The lease is a PostgreSQL session advisory lock held on a connection of its own: a node that
// dies (SIGKILL, lost machine) ends its session and the lock with it, and another node's next try takes it.
// The holder checks its connection every interval and gives the lease up at the first failure.

import type pg from "pg";
import type { Logger } from "../config.ts";
import { silentLogger } from "../config.ts";
import type { SprigStore } from "../context.ts";
import { PostgresDb } from "../../store/index.ts";

/** Who may schedule: `held()` now; the callbacks run when this process gains or loses the lease. */
export interface SchedulerLease {
  held(): boolean;
  /** start trying (and keep checking); `acquired` runs each time the lease is taken, `lost` each time it is lost */
  start(on: { acquired(): Promise<void> | void; lost(): void }): Promise<void>;
  /** give the lease up (another node takes it at its next try) */
  stop(): Promise<void>;
}

/** One process, one scheduler (SQLite, the embedded service): always held. */
export class LocalLease implements SchedulerLease {
  held(): boolean {
    return true;
  }
  async start(on: { acquired(): Promise<void> | void }): Promise<void> {
    await on.acquired();
  }
  async stop(): Promise<void> {}
}

/** the advisory-lock key of the scheduler (class, id), apart from the job queue's keys */
const KEY = [0x5f7 + 3, 1] as const;

export interface PgLeaseOptions {
  /** how often a node without the lease tries to take it, and the holder checks its connection (default 1 s) */
  intervalMs?: number;
  log?: Logger;
}

export class PgSchedulerLease implements SchedulerLease {
  private client: pg.PoolClient | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private ticking: Promise<void> = Promise.resolve();
  private on: { acquired(): Promise<void> | void; lost(): void } | null = null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly o: PgLeaseOptions = {},
  ) {}

  held(): boolean {
    return this.client !== null;
  }

  async start(on: { acquired(): Promise<void> | void; lost(): void }): Promise<void> {
    this.on = on;
    await this.tick();
  }

  private get log(): Logger {
    return this.o.log ?? silentLogger;
  }

  private drop(e: unknown): void {
    const c = this.client;
    this.client = null;
    // destroying the connection ends the session: the lock is free for the other nodes at once
    c?.release(e instanceof Error ? e : new Error(String(e)));
    this.log.warn({ err: String(e) }, "lost the fine-tune scheduler lease");
    this.on?.lost();
  }

  private tick(): Promise<void> {
    this.ticking = this.ticking.then(async () => {
      if (this.stopped) return;
      if (this.client) {
        try {
          await this.client.query("SELECT 1");
        } catch (e) {
          this.drop(e);
        }
      } else {
        let c: pg.PoolClient | null = null;
        try {
          c = await this.pool.connect();
          const r = await c.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1, $2) AS ok", [...KEY]);
          if (r.rows[0]?.ok) {
            const held = c;
            // a held connection that fails between checks (server restart, terminated session) emits here:
            // unhandled, that would end the process
            held.on("error", (e) => {
              if (this.client === held) this.drop(e);
            });
            this.client = held;
            c = null;
            this.log.info({}, "this node schedules fine-tunes (it holds the scheduler lease)");
            try {
              await this.on?.acquired();
            } catch (e) {
              this.log.error({ err: String(e) }, "taking over fine-tune scheduling failed");
            }
          }
        } catch (e) {
          this.log.warn({ err: String(e) }, "trying for the fine-tune scheduler lease failed");
          c?.release(e as Error);
          c = null;
        } finally {
          c?.release();
        }
      }
      if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.o.intervalMs ?? 1000);
    });
    return this.ticking;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    const c = this.client;
    this.client = null;
    if (!c) return;
    try {
      await c.query("SELECT pg_advisory_unlock($1, $2)", [...KEY]);
      c.release();
    } catch (e) {
      c.release(e as Error);
    }
  }
}

/** The lease of a store: the advisory lock on PostgreSQL, always held on SQLite (one process). */
export function schedulerLease(store: SprigStore, o: PgLeaseOptions = {}): SchedulerLease {
  return store.db instanceof PostgresDb ? new PgSchedulerLease(store.db.pool, o) : new LocalLease();
}
