// SqlDb on SQLite (better-sqlite3, the embedded default). Statements run synchronously; a transaction
// is BEGIN IMMEDIATE … COMMIT around an async callback, so while one is open every statement issued from
// outside its async context waits for it (one connection: they would otherwise join it and share its fate).

import { AsyncLocalStorage } from "node:async_hooks";
import type Database from "better-sqlite3";
import type { Dialect, SqlDb, SqlValue } from "./sql.ts";

interface TxContext {
  depth: number;
  done: boolean;
}

export class SqliteDb implements SqlDb {
  readonly dialect: Dialect = "sqlite";
  private readonly als = new AsyncLocalStorage<TxContext>();
  /** settles when the open transaction ends (null: none open) */
  private current: Promise<void> | null = null;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(readonly raw: Database.Database) {}

  get open(): boolean {
    return this.raw.open;
  }

  private prepare(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.raw.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /** whether the caller runs inside the open transaction */
  private inTx(): TxContext | null {
    const c = this.als.getStore();
    return c && !c.done ? c : null;
  }

  /**
   * Run `f` once no transaction of another async context is open. The last check and `f` run in the same
   * microtask, so no transaction can begin between them.
   */
  private async atTurn<R>(f: () => R): Promise<R> {
    while (this.current && !this.inTx()) await this.current;
    return f();
  }

  all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.atTurn(() => this.prepare(sql).all(...params) as T[]);
  }

  get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return this.atTurn(() => this.prepare(sql).get(...params) as T | undefined);
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<{ changes: number }> {
    return this.atTurn(() => ({ changes: this.prepare(sql).run(...params).changes }));
  }

  exec(sql: string): Promise<void> {
    return this.atTurn(() => this.raw.exec(sql)).then(() => undefined);
  }

  async tx<R>(fn: () => Promise<R>): Promise<R> {
    const outer = this.inTx();
    if (outer) {
      const name = `sp${outer.depth++}`;
      this.raw.exec(`SAVEPOINT ${name}`);
      try {
        const r = await fn();
        this.raw.exec(`RELEASE ${name}`);
        return r;
      } catch (e) {
        this.raw.exec(`ROLLBACK TO ${name}; RELEASE ${name}`);
        throw e;
      } finally {
        outer.depth--;
      }
    }
    const { ctx, end } = await this.atTurn(() => {
      let end!: () => void;
      this.current = new Promise<void>((resolve) => (end = resolve));
      return { ctx: { depth: 0, done: false } as TxContext, end };
    });
    try {
      // IMMEDIATE takes the write lock now: another process (the CLI) waits for it, never the reverse mid-way
      this.raw.exec("BEGIN IMMEDIATE");
      try {
        const r = await this.als.run(ctx, fn);
        this.raw.exec("COMMIT");
        return r;
      } catch (e) {
        if (this.raw.inTransaction) this.raw.exec("ROLLBACK");
        throw e;
      }
    } finally {
      ctx.done = true;
      this.current = null;
      end();
    }
  }

  async lockRows(): Promise<void> {
    // BEGIN IMMEDIATE already excludes every other writer
  }

  close(): Promise<void> {
    return this.atTurn(() => {
      if (this.raw.open) this.raw.close();
    });
  }
}
