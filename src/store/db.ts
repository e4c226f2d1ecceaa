// Opening the database: SQLite (a file; WAL for concurrent readers, foreign keys on) or PostgreSQL (a URL),
// then the migrations applied in order, each in its own transaction.

import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { MIGRATIONS, type Migration } from "./migrations.ts";
import { PostgresDb } from "./postgres.ts";
import type { SqlDb } from "./sql.ts";
import { SqliteDb } from "./sqlite.ts";

export type Db = SqlDb;

export class StoreError extends Error {
  override name = "StoreError";
}

/** Whether a database setting names PostgreSQL (a postgres:// or postgresql:// URL) rather than a SQLite file. */
export const isPostgresUrl = (s: string): boolean => /^postgres(ql)?:\/\//i.test(s);

/** Open (creating if needed) the SQLite database at `file` (":memory:" for tests) and bring its schema up to date. */
export async function openDatabase(file: string, migrations: readonly Migration[] = MIGRATIONS): Promise<SqliteDb> {
  if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
  const raw = new Database(file);
  try {
    // the first statements read the file's header: a damaged file fails here
    raw.pragma("journal_mode = WAL");
    raw.prepare("SELECT count(*) FROM sqlite_master").get();
  } catch (e) {
    raw.close();
    const code = (e as { code?: string }).code ?? "";
    if (code === "SQLITE_NOTADB" || code === "SQLITE_CORRUPT")
      throw new StoreError(
        `the database ${file} is damaged (${code}: ${(e as Error).message}). Stop the service, move ${file} and its -wal and -shm files aside, ` +
          `and restore them from your backup of the data directory (docs/operating.md, "Backups"); ` +
          `\`sqlite3 ${file} .recover\` may salvage rows from the damaged copy.`,
      );
    throw e;
  }
  // NORMAL in WAL mode: a power cut may lose the last transactions but never corrupts the file
  raw.pragma("synchronous = NORMAL");
  raw.pragma("foreign_keys = ON");
  // the CLI (`sprig key create`) may write while the server runs: wait instead of failing at once
  raw.pragma("busy_timeout = 5000");
  const db = new SqliteDb(raw);
  await migrate(db, migrations);
  return db;
}

/** Connect to the PostgreSQL database at `url` and bring its schema up to date. */
export async function openPostgres(url: string, migrations: readonly Migration[] = MIGRATIONS): Promise<PostgresDb> {
  const db = PostgresDb.connect(url);
  try {
    await db.get("SELECT 1");
  } catch (e) {
    await db.close();
    throw new StoreError(
      `cannot reach the PostgreSQL database ${redactUrl(url)}: ${(e as Error).message}. Check that the server runs, and the URL's host, port, user, password and database name.`,
    );
  }
  try {
    await migrate(db, migrations);
  } catch (e) {
    await db.close();
    throw e;
  }
  return db;
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable URL)";
  }
}

/**
 * Apply every migration newer than the database's version, in one transaction (an upgrade applies whole or
 * not at all). On PostgreSQL an advisory lock makes nodes that start at once migrate one after the other.
 */
export async function migrate(db: Db, migrations: readonly Migration[]): Promise<number[]> {
  const sqlOf = (m: Migration): string => (db.dialect === "postgres" ? m.postgres : m.sql);
  return db.tx(async () => {
    // 0x5371 = "Sq": any constant the application owns; held until this transaction ends
    if (db.dialect === "postgres") await db.exec("SELECT pg_advisory_xact_lock(21361)");
    await db.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
    );
    const applied = new Set((await db.all<{ version: number }>("SELECT version FROM schema_migrations")).map((r) => r.version));
    const known = new Set(migrations.map((m) => m.version));
    const unknown = [...applied].filter((v) => !known.has(v));
    if (unknown.length)
      throw new StoreError(`the database has migrations ${unknown.join(", ")} that this version of Sprig does not know: upgrade Sprig`);
    const done: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue;
      await db.tx(async () => {
        await db.exec(sqlOf(m));
        await db.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", [
          m.version,
          m.name,
          new Date().toISOString(),
        ]);
      });
      done.push(m.version);
    }
    return done;
  });
}
