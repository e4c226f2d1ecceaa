// The one seam between the repositories and a database: parameterised statements (`?` placeholders)
// that resolve to rows, and transactions. SQLite (better-sqlite3) and PostgreSQL (`pg`) implement it;
// the repositories are written once against it, in the SQL both dialects share.

export type Dialect = "sqlite" | "postgres";

export type SqlValue = string | number | null;

export interface SqlDb {
  readonly dialect: Dialect;
  /** every row of a query */
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** the first row of a query, or undefined */
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** a statement that writes: how many rows it changed */
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }>;
  /** several statements without parameters (migrations) */
  exec(sql: string): Promise<void>;
  /**
   * Run `fn` in one transaction: committed when it resolves, rolled back when it throws. Every statement
   * issued while `fn` runs (in its async context) belongs to the transaction, wherever it is issued from;
   * statements from elsewhere wait (SQLite: one writer) or run beside it (PostgreSQL: another connection).
   * Nested calls are savepoints.
   */
  tx<R>(fn: () => Promise<R>): Promise<R>;
  /**
   * Inside a transaction, lock these rows until it ends, so two transactions that read, decide and write
   * (placement) run one after the other. A no-op on SQLite, whose transactions already exclude each other.
   */
  lockRows(table: string, where: string, params?: readonly SqlValue[]): Promise<void>;
  close(): Promise<void>;
  /** false once closed */
  readonly open: boolean;
}

/** Rewrite `?` placeholders as `$1, $2, …` (PostgreSQL); the repositories' SQL has no `?` inside literals. */
export function numberedPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** `IN (…)` placeholders for `n` values; an empty list matches nothing (portable: `IN ()` is not). */
export const inList = (column: string, n: number): string => (n === 0 ? "1 = 0" : `${column} IN (${Array(n).fill("?").join(", ")})`);
