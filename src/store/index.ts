// The store: one object holding the database, its repositories and the data directory's layout.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ApiKeyRepo } from "./api-keys.ts";
import { type Db, openDatabase } from "./db.ts";
import { FineTuneRepo } from "./fine-tune-history.ts";
import { ObjectRepo } from "./objects.ts";
import { ResourceTable, type StoredResource } from "./resource-table.ts";
import { type StoredWorkRequest, WorkRequestRepo } from "./work-requests.ts";

export { type Db, StoreError, openDatabase, migrate } from "./db.ts";
export { type ApiKey, ApiKeyRepo, KEY_PREFIX } from "./api-keys.ts";
export { type FineTuneEvent, type FineTuneJobRow, type JobState, type MetricsPoint, FineTuneRepo } from "./fine-tune-history.ts";
export { type Bucket, type ObjectMeta, ObjectRepo } from "./objects.ts";
export { type ListPage, type TableQuery, ResourceTable, type StoredResource, type Versioned, newEtag } from "./resource-table.ts";
export { type StoredWorkRequest, type WorkRequestEntry, WorkRequestRepo } from "./work-requests.ts";
export { TooLargeError, commitDir, tempDirFor, writeFileAtomic, writeStreamAtomic } from "./files.ts";

/** The data directory's layout. */
export function dataPaths(dataDir: string) {
  return {
    database: join(dataDir, "sprig.db"),
    /** model artifacts (adapters, full models) and job checkpoints */
    artifacts: join(dataDir, "artifacts"),
    /** object storage bytes */
    objects: join(dataDir, "objects"),
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
  readonly paths: ReturnType<typeof dataPaths>;

  private constructor(
    readonly db: Db,
    dataDir: string,
  ) {
    this.paths = dataPaths(dataDir);
    this.clusters = new ResourceTable(db, "dedicated_ai_clusters");
    this.models = new ResourceTable(db, "models");
    this.endpoints = new ResourceTable(db, "endpoints");
    this.workRequests = new WorkRequestRepo(db);
    this.apiKeys = new ApiKeyRepo(db);
    this.objects = new ObjectRepo(db, this.paths.objects);
    this.fineTunes = new FineTuneRepo(db);
  }

  /** Open the store of a data directory (created if missing). */
  static open<C extends StoredResource, M extends StoredResource, E extends StoredResource, W extends StoredWorkRequest>(dataDir: string): Store<C, M, E, W> {
    const p = dataPaths(dataDir);
    mkdirSync(p.artifacts, { recursive: true });
    mkdirSync(p.objects, { recursive: true });
    return new Store<C, M, E, W>(openDatabase(p.database), dataDir);
  }

  /** Run `fn` in one transaction (better-sqlite3 transactions are synchronous). */
  tx<R>(fn: () => R): R {
    return this.db.transaction(fn)();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
