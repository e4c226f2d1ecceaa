// SqlDb on PostgreSQL (the `pg` driver's pool). Outside a transaction each statement takes any pooled
// connection; a transaction holds one connection from BEGIN to COMMIT, and every statement issued in its
// async context goes there. Transactions run at READ COMMITTED; what must not race (placement) locks its
// rows with SELECT … FOR UPDATE (`lockRows`), so nothing is retried and no callback runs twice.

import { AsyncLocalStorage } from "node:async_hooks";
import pg from "pg";
import { type Dialect, type SqlDb, type SqlValue, numberedPlaceholders } from "./sql.ts";

interface TxContext {
  client: pg.PoolClient;
  depth: number;
  done: boolean;
}

// BIGINT (sizes, byte counts) as a JS number: every value the store keeps is far below 2^53
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
};

export class PostgresDb implements SqlDb {
  readonly dialect: Dialect = "postgres";
  private readonly als = new AsyncLocalStorage<TxContext>();
  private closed = false;

  constructor(readonly pool: pg.Pool) {}

  /** A pool on `url` (postgres://user:pass@host:port/db, or host=/run/postgresql for a unix socket). */
  static connect(url: string, o: { max?: number } = {}): PostgresDb {
    const pool = new pg.Pool({ connectionString: url, max: o.max ?? 10, types });
    // an idle connection the server drops (restart, idle timeout) must not crash the process
    pool.on("error", () => {});
    return new PostgresDb(pool);
  }

  get open(): boolean {
    return !this.closed;
  }

  private target(): pg.Pool | pg.PoolClient {
    const c = this.als.getStore();
    return c && !c.done ? c.client : this.pool;
  }

  private async query<T>(sql: string, params: readonly SqlValue[]): Promise<pg.QueryResult<T & pg.QueryResultRow>> {
    return this.target().query<T & pg.QueryResultRow>(numberedPlaceholders(sql), params as SqlValue[]);
  }

  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return (await this.query<T>(sql, params)).rows;
  }

  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return (await this.query<T>(sql, params)).rows[0];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<{ changes: number }> {
    return { changes: (await this.query(sql, params)).rowCount ?? 0 };
  }

  async exec(sql: string): Promise<void> {
    // no parameters: the simple query protocol runs several statements in one call
    await this.target().query(sql);
  }

  async tx<R>(fn: () => Promise<R>): Promise<R> {
    const outer = this.als.getStore();
    if (outer && !outer.done) {
      const name = `sp${outer.depth++}`;
      await outer.client.query(`SAVEPOINT ${name}`);
      try {
        const r = await fn();
        await outer.client.query(`RELEASE SAVEPOINT ${name}`);
        return r;
      } catch (e) {
        await outer.client.query(`ROLLBACK TO SAVEPOINT ${name}`);
        throw e;
      } finally {
        outer.depth--;
      }
    }
    const client = await this.pool.connect();
    const ctx: TxContext = { client, depth: 0, done: false };
    let broken: Error | undefined;
    try {
      await client.query("BEGIN");
      try {
        const r = await this.als.run(ctx, fn);
        await client.query("COMMIT");
        return r;
      } catch (e) {
        await client.query("ROLLBACK").catch((re: Error) => (broken = re));
        throw e;
      }
    } finally {
      ctx.done = true;
      // a connection whose ROLLBACK failed is in an unknown state: destroy it rather than reuse it
      client.release(broken);
    }
  }

  async lockRows(table: string, where: string, params: readonly SqlValue[] = []): Promise<void> {
    await this.query(`SELECT 1 FROM ${table} WHERE ${where} FOR UPDATE`, params);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
