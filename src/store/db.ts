// Opening the SQLite database: WAL for concurrent readers, foreign keys on, migrations applied in order.

import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { MIGRATIONS, type Migration } from "./migrations.ts";

export type Db = Database.Database;

export class StoreError extends Error {
  override name = "StoreError";
}

/** Open (creating if needed) the database at `file` (":memory:" for tests) and bring its schema up to date. */
export function openDatabase(file: string, migrations: readonly Migration[] = MIGRATIONS): Db {
  if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    // the first statements read the file's header: a damaged file fails here
    db.pragma("journal_mode = WAL");
    db.prepare("SELECT count(*) FROM sqlite_master").get();
  } catch (e) {
    db.close();
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
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  // the CLI (`sprig key create`) may write while the server runs: wait instead of failing at once
  db.pragma("busy_timeout = 5000");
  migrate(db, migrations);
  return db;
}

/** Apply every migration newer than the database's version, each in its own transaction. */
export function migrate(db: Db, migrations: readonly Migration[]): number[] {
  db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
  const applied = new Set((db.prepare("SELECT version FROM schema_migrations").all() as { version: number }[]).map((r) => r.version));
  const known = new Set(migrations.map((m) => m.version));
  const unknown = [...applied].filter((v) => !known.has(v));
  if (unknown.length)
    throw new StoreError(`the database has migrations ${unknown.join(", ")} that this version of Sprig does not know: upgrade Sprig`);
  const done: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)").run(
        m.version,
        m.name,
        new Date().toISOString(),
      );
    })();
    done.push(m.version);
  }
  return done;
}
