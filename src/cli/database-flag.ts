// `--database URL` (or SPRIG_DATABASE_URL): where the control-plane state lives. Unset, it is the data
// directory's SQLite file (the embedded default); a postgres:// URL puts it in that PostgreSQL database.

import type { Command } from "commander";
import { resolve } from "node:path";
import type { SprigStore } from "../control/index.ts";
import { Store, isPostgresUrl } from "../store/index.ts";
import { CliError } from "./errors.ts";

export const DATABASE_ENV = "SPRIG_DATABASE_URL";

/** Add the --database option to a command. */
export function withDatabaseOption(c: Command): Command {
  return c.option(
    "--database <url>",
    `PostgreSQL URL for the service's state, e.g. postgres://sprig:PASSWORD@db-host:5432/sprig (default: $${DATABASE_ENV}, else the data directory's SQLite file)`,
  );
}

/** `--artifacts-dir DIR`: the shared artifacts directory (same flag on `sprig serve` and the worker nodes). */
export const ARTIFACTS_DIR_FLAG = "--artifacts-dir <dir>";
export const ARTIFACTS_DIR_HELP =
  "models, adapters, checkpoints and training data; every node of a multi-node service points at the same directory, mounted at the same path (default: under --data-dir)";

/** The database the flags (or the environment) name: a PostgreSQL URL, or undefined for SQLite. */
export function databaseUrl(f: { database?: string }): string | undefined {
  const url = f.database ?? (process.env[DATABASE_ENV] || undefined);
  if (url === undefined) return undefined;
  if (!isPostgresUrl(url))
    throw new CliError(
      `${f.database !== undefined ? "--database" : DATABASE_ENV}: '${url}' is not a postgres:// or postgresql:// URL; leave it unset to use the data directory's SQLite file`,
    );
  return url;
}

/** Open the store the flags name (for the commands that work on it directly: key, node). */
export async function openStore(f: { dataDir: string; database?: string; artifactsDir?: string }): Promise<SprigStore> {
  const database = databaseUrl(f);
  return (await Store.open(resolve(f.dataDir), {
    ...(database === undefined ? {} : { database }),
    ...(f.artifactsDir === undefined ? {} : { artifactsDir: resolve(f.artifactsDir) }),
  })) as SprigStore;
}
