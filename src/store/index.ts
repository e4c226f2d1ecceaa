// The store: one object holding the database, its repositories and the data directory's layout.

import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { ApiKeyRepo } from "./api-keys.ts";
import { type Db, StoreError, isPostgresUrl, openDatabase, openPostgres } from "./db.ts";
import { FineTuneRepo } from "./fine-tune-history.ts";
import { NodeRepo } from "./nodes.ts";
import { ObjectRepo } from "./objects.ts";
import { ResourceTable, type StoredResource } from "./resource-table.ts";
import { type StoredWorkRequest, WorkRequestRepo } from "./work-requests.ts";
import { RetryTokenRepo } from "./retry-tokens.ts";

export { type Db, StoreError, isPostgresUrl, migrate, openDatabase, openPostgres, redactUrl } from "./db.ts";
export type { Dialect, SqlDb, SqlValue } from "./sql.ts";
export { PostgresDb } from "./postgres.ts";
export { type ApiKey, ApiKeyRepo, KEY_PREFIX } from "./api-keys.ts";
export { type FineTuneEvent, type FineTuneJobRow, type JobState, type MetricsPoint, FineTuneRepo } from "./fine-tune-history.ts";
export { type NodeRow, NodeRepo, type UnitReservationRow } from "./nodes.ts";
export { type Bucket, type ObjectMeta, ObjectRepo } from "./objects.ts";
export {
  type ChangeGuard,
  type ListPage,
  type TableQuery,
  ResourceTable,
  type StoredResource,
  type Versioned,
  newEtag,
} from "./resource-table.ts";
export { type StoredWorkRequest, type WorkRequestEntry, WorkRequestRepo } from "./work-requests.ts";
export { type RetryTokenRow, RetryTokenRepo } from "./retry-tokens.ts";
export { TooLargeError, commitDir, tempDirFor, writeFileAtomic, writeStreamAtomic } from "./files.ts";

/**
 * The data directory's layout. `artifactsDir` (the shared artifacts directory every node of a multi-node
 * service reaches) holds the model artifacts and, in its `objects/`, the object storage bytes (training data);
 * unset, both stay in the data directory as in the embedded default.
 */
export function dataPaths(dataDir: string, artifactsDir?: string) {
  return {
    database: join(dataDir, "sprig.db"),
    /** model artifacts (adapters, full models) and job checkpoints */
    artifacts: artifactsDir ?? join(dataDir, "artifacts"),
    /** object storage bytes */
    objects: artifactsDir === undefined ? join(dataDir, "objects") : join(artifactsDir, "objects"),
  };
}

export class Store<C extends StoredResource, M extends StoredResource, E extends StoredResource, W extends StoredWorkRequest> {
  readonly clusters: ResourceTable<C>;
  readonly models: ResourceTable<M>;
  readonly endpoints: ResourceTable<E>;
  readonly workRequests: WorkRequestRepo<W>;
  readonly apiKeys: ApiKeyRepo;
  readonly objects: ObjectRepo;
  readonly fineTunes: FineTuneRepo;
  /** nodes and the units reserved on them */
  readonly nodes: NodeRepo;
  /** opc-retry-token answers of creates */
  readonly retryTokens: RetryTokenRepo;
  readonly paths: ReturnType<typeof dataPaths>;

  private constructor(
    readonly db: Db,
    paths: ReturnType<typeof dataPaths>,
  ) {
    this.paths = paths;
    this.clusters = new ResourceTable(db, "dedicated_ai_clusters");
    this.models = new ResourceTable(db, "models");
    this.endpoints = new ResourceTable(db, "endpoints");
    this.workRequests = new WorkRequestRepo(db);
    this.apiKeys = new ApiKeyRepo(db);
    this.objects = new ObjectRepo(db, this.paths.objects);
    this.fineTunes = new FineTuneRepo(db);
    this.nodes = new NodeRepo(db);
    this.retryTokens = new RetryTokenRepo(db);
  }

  /**
   * Open the store of a data directory (created if missing). The database is the directory's SQLite file
   * (refused when it is lost but the directory's files remain), or, with `database` a postgres:// URL,
   * that PostgreSQL database. Artifacts and objects stay in the directory, or go to `artifactsDir` (an
   * absolute path every node reaches at the same place) when it is given.
   */
  static async open<C extends StoredResource, M extends StoredResource, E extends StoredResource, W extends StoredWorkRequest>(
    dataDir: string,
    o: { database?: string; artifactsDir?: string } = {},
  ): Promise<Store<C, M, E, W>> {
    const p = dataPaths(dataDir, o.artifactsDir);
    const url = o.database;
    if (url !== undefined && !isPostgresUrl(url))
      throw new StoreError(`the database setting must be a postgres:// or postgresql:// URL (got "${url}"); leave it unset for SQLite`);
    if (url === undefined) refuseLostDatabase(p);
    mkdirSync(p.artifacts, { recursive: true });
    mkdirSync(p.objects, { recursive: true });
    const db = url === undefined ? await openDatabase(p.database) : await openPostgres(url);
    return new Store<C, M, E, W>(db, p);
  }

  /**
   * Run `fn` in one transaction: every store call made while it runs belongs to it; committed when `fn`
   * resolves, rolled back when it throws.
   */
  tx<R>(fn: () => Promise<R>): Promise<R> {
    return this.db.tx(fn);
  }

  async close(): Promise<void> {
    if (this.db.open) await this.db.close();
  }
}

/**
 * A missing or empty database beside artifacts or objects is a lost database, not a fresh install:
 * starting would forget every resource and later overwrite the files. Refuse, saying what to restore.
 */
function refuseLostDatabase(p: ReturnType<typeof dataPaths>): void {
  const size = existsSync(p.database) ? statSync(p.database).size : -1;
  if (size > 0) return;
  const entries = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith(".")) : []);
  const held = [...entries(p.artifacts).flatMap((d) => entries(join(p.artifacts, d))), ...entries(p.objects)];
  if (!held.length) return;
  throw new StoreError(
    `the database ${p.database} is ${size < 0 ? "missing" : "empty (0 bytes)"} but the data directory holds ${held.length} artifact or object file(s): ` +
      `refusing to start as a fresh install. Stop the service and restore ${p.database} (with its -wal file) from your backup of the data directory ` +
      `(docs/operating.md, "Backups"); to really start over, move the whole data directory aside.`,
  );
}
