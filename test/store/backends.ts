// The store backends every shared store test runs on: SQLite always; PostgreSQL when a server can be had
// (postgres-server.ts), else its tests are skipped with the reason. Each `options()` call is a fresh database.

import { after } from "node:test";
import { type PostgresServer, skipReason, startPostgres } from "./postgres-server.ts";

export interface Backend {
  name: "sqlite" | "postgres";
  /** why this backend's tests are skipped here, or undefined */
  skip: string | undefined;
  /** Store.open options for a fresh database (SQLite: the data directory's own file) */
  options(): Promise<{ database?: string }>;
}

let server: Promise<PostgresServer> | null = null;
// registered at the top level: the server outlives every test of the file and stops after the last
after(async () => {
  if (server) await (await server).stop();
});

const postgres: Backend = {
  name: "postgres",
  skip: skipReason() ?? undefined,
  async options() {
    server ??= startPostgres();
    return { database: await (await server).newDatabase() };
  },
};

const sqlite: Backend = { name: "sqlite", skip: undefined, options: async () => ({}) };

export const BACKENDS: readonly Backend[] = [sqlite, postgres];
