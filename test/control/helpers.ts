// Shared set-up for control tests: a control plane on a fresh data dir with fake executors.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Readable } from "node:stream";
import { ControlPlane, type ControlConfigInput, type LocalNodeSettings, type Scope, type SprigStore } from "../../src/control/index.ts";
import { Store } from "../../src/store/index.ts";
import { FakeFineTune, FakeHosting, until } from "./fakes.ts";

export const TINY = "test/fixtures/models/tiny-llama";
/** the import root tests allow: the fixture models */
export const FIXTURE_MODELS = resolve("test/fixtures/models");
/** What the test services may import from disk: the fixtures and the bundled models (the service's default allows nothing). */
export const IMPORT_ROOTS = [FIXTURE_MODELS, resolve("models")];
export const OTHER_BASE = "test/fixtures/models/tiny-qwen2";
export const A: Scope = { compartments: ["compA"] };
export const B: Scope = { compartments: ["compB"] };

export interface Harness {
  dir: string;
  store: SprigStore;
  cp: ControlPlane;
  ft: FakeFineTune;
  hosting: FakeHosting;
}

/** The fake executors run nothing on real cores: a roomy node whose cores are only accounted. */
export const FAKE_NODE: LocalNodeSettings = {
  cores: Array.from({ length: 32 }, (_, i) => i),
  memoryBytes: 256 * 1024 ** 3,
  pinning: false,
  name: "fake-node",
};

export async function harness(
  config: ControlConfigInput = {},
  dir = mkdtempSync(join(tmpdir(), "sprig-control-")),
  node: LocalNodeSettings = FAKE_NODE,
  /** a PostgreSQL URL; default: the data directory's SQLite file */
  database?: string,
): Promise<Harness> {
  const store = (await Store.open(dir, database === undefined ? {} : { database })) as SprigStore;
  const ft = new FakeFineTune();
  const hosting = new FakeHosting();
  // the fixtures may be imported (the service's default allows no server directory)
  const cp = new ControlPlane({ store, fineTune: ft, hosting, config: { modelImportRoots: IMPORT_ROOTS, ...config }, node });
  await cp.start();
  return { dir, store, cp, ft, hosting };
}

export async function activeCluster(h: Harness, type: "FINE_TUNING" | "HOSTING", scope = A, unitCount = 1) {
  const c = await h.cp.clusters.create(scope, { compartmentId: scope.compartments[0]!, type, unitCount });
  return until(async () => {
    const v = (await h.cp.clusters.get(scope, c.value.id)).value;
    return v.lifecycleState === "ACTIVE" && v;
  }, "cluster ACTIVE");
}

export async function upload(
  h: Harness,
  scope = A,
  name = "train.jsonl",
): Promise<{ namespaceName: string; bucketName: string; objectName: string; datasetType: "OBJECT_STORAGE" }> {
  await h.store.objects.createBucket("ns", `bucket-${scope.compartments[0]}`, scope.compartments[0]!);
  await h.store.objects.put("ns", `bucket-${scope.compartments[0]}`, name, Readable.from(['{"prompt":"a","completion":"b"}\n']), {
    contentType: "application/jsonl",
    maxBytes: 1000,
  });
  return { datasetType: "OBJECT_STORAGE", namespaceName: "ns", bucketName: `bucket-${scope.compartments[0]}`, objectName: name };
}

export async function waitModel(h: Harness, id: string, state: string, scope = A) {
  return until(async () => {
    const m = (await h.cp.models.get(scope, id)).value;
    return m.lifecycleState === state && m;
  }, `model ${state}`);
}

export async function waitEndpoint(h: Harness, id: string, state: string, scope = A) {
  return until(async () => {
    const e = (await h.cp.endpoints.get(scope, id)).value;
    return e.lifecycleState === state && e;
  }, `endpoint ${state}`);
}
