// Store: migrations, resource tables (etag compare-and-set, scoped listing, pagination), API keys,
// object storage, fine-tune history, atomic files.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { test } from "node:test";
import { MIGRATIONS } from "../../src/store/migrations.ts";
import {
  Store,
  TooLargeError,
  migrate,
  openDatabase,
  writeFileAtomic,
  type StoredResource,
  type StoredWorkRequest,
} from "../../src/store/index.ts";

type R = StoredResource & { extra?: string };
const tmp = () => mkdtempSync(join(tmpdir(), "sprig-store-"));
const open = (dir = tmp()) => Store.open<R, R, R, StoredWorkRequest & { resources: { identifier: string }[] }>(dir);
const res = (id: string, compartmentId: string | null, t: string, name = id): R => ({
  id,
  compartmentId,
  lifecycleState: "ACTIVE",
  displayName: name,
  timeCreated: t,
});

test("migrations apply once, are recorded, and a database from a newer version is refused", () => {
  const db = openDatabase(":memory:");
  const versions = (db.prepare("SELECT version FROM schema_migrations").all() as { version: number }[]).map((r) => r.version);
  assert.deepEqual(
    versions,
    MIGRATIONS.map((m) => m.version),
  );
  assert.deepEqual(migrate(db, MIGRATIONS), [], "a second run applies nothing");
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name);
  for (const t of ["dedicated_ai_clusters", "models", "endpoints", "work_requests", "api_keys", "objects", "fine_tune_metrics"])
    assert.ok(tables.includes(t), t);
  assert.equal(db.pragma("foreign_keys", { simple: true }), 1);
  db.prepare("INSERT INTO schema_migrations VALUES (999, 'future', 'x')").run();
  assert.throws(() => migrate(db, MIGRATIONS), /migrations 999 .* upgrade Sprig/);
});

test("a file database uses WAL and keeps its rows across reopening", () => {
  const dir = tmp();
  const s = open(dir);
  assert.equal(s.db.pragma("journal_mode", { simple: true }), "wal");
  s.clusters.insert(res("c1", "comp", "2024-01-01T00:00:00Z"));
  s.close();
  const s2 = open(dir);
  assert.equal(s2.clusters.get("c1")?.value.displayName, "c1");
  s2.close();
});

test("updates honour the etag (compare-and-set) and change it", () => {
  const s = open();
  const etag = s.models.insert(res("m1", "comp", "2024-01-01T00:00:00Z"));
  const next = s.models.update({ ...res("m1", "comp", "2024-01-01T00:00:00Z"), displayName: "renamed" }, etag);
  assert.ok(next && next !== etag);
  assert.equal(s.models.update(res("m1", "comp", "2024-01-01T00:00:00Z"), etag), null, "a stale etag loses");
  assert.equal(s.models.get("m1")?.value.displayName, "renamed");
  assert.equal(s.models.get("m1")?.etag, next);
  assert.ok(s.models.delete("m1"));
  assert.equal(s.models.get("m1"), null);
  s.close();
});

test("listing is scoped to compartments, includes global rows on request, sorts and paginates", () => {
  const s = open();
  for (let i = 0; i < 5; i++) s.endpoints.insert(res(`a${i}`, "A", `2024-01-0${i + 1}T00:00:00Z`));
  s.endpoints.insert(res("b0", "B", "2024-01-09T00:00:00Z"));
  s.endpoints.insert(res("g0", null, "2024-01-08T00:00:00Z"));
  const p1 = s.endpoints.list({ compartmentIds: ["A"], limit: 2, offset: 0 });
  assert.deepEqual(
    p1.items.map((r) => r.id),
    ["a4", "a3"],
  );
  assert.equal(p1.more, true);
  const p3 = s.endpoints.list({ compartmentIds: ["A"], limit: 2, offset: 4 });
  assert.deepEqual(
    p3.items.map((r) => r.id),
    ["a0"],
  );
  assert.equal(p3.more, false);
  assert.deepEqual(
    s.endpoints.list({ compartmentIds: ["A"], includeGlobal: true, sortOrder: "ASC", limit: 10, offset: 0 }).items.map((r) => r.id),
    ["a0", "a1", "a2", "a3", "a4", "g0"],
  );
  assert.deepEqual(s.endpoints.list({ compartmentIds: [], limit: 10, offset: 0 }).items, []);
  assert.deepEqual(
    s.endpoints.list({ compartmentIds: ["A", "B"], displayName: "b0", limit: 10, offset: 0 }).items.map((r) => r.id),
    ["b0"],
  );
  s.close();
});

test("API keys: the secret is shown once, only its hash is stored, revoked keys fail", () => {
  const s = open();
  const { key, record } = s.apiKeys.create(["A", "B"], "ci");
  assert.match(key, /^sprig_[A-Za-z0-9_-]{43}$/);
  const dump = JSON.stringify(s.db.prepare("SELECT * FROM api_keys").all());
  assert.ok(!dump.includes(key.slice(6)), "the secret is not stored");
  assert.deepEqual(s.apiKeys.verify(key)?.compartments, ["A", "B"]);
  assert.equal(s.apiKeys.verify(`${key}x`), null);
  assert.equal(s.apiKeys.verify(""), null);
  assert.ok(s.apiKeys.revoke(record.id));
  assert.equal(s.apiKeys.verify(key), null);
  s.close();
});

test("objects: put, read, overwrite, list, delete; an oversized upload leaves nothing behind", async () => {
  const dir = tmp();
  const s = open(dir);
  s.objects.createBucket("ns", "data", "A");
  const m1 = await s.objects.put("ns", "data", "train.jsonl", Readable.from([Buffer.from("hello\n")]), {
    contentType: "application/jsonl",
    maxBytes: 100,
  });
  assert.equal(m1.size, 6);
  assert.equal(m1.md5, "sZRqySSS0jR8YjW00mERhA==");
  const m2 = await s.objects.put("ns", "data", "train.jsonl", Readable.from([Buffer.from("bye\n")]), {
    contentType: "text/plain",
    maxBytes: 100,
  });
  assert.notEqual(m2.etag, m1.etag);
  assert.equal(readFileSync(s.objects.path("ns", "data", "train.jsonl")!, "utf8"), "bye\n");
  assert.equal(readdirSync(join(dir, "objects")).length, 1, "the overwritten file is removed");
  await assert.rejects(
    s.objects.put("ns", "data", "big", Readable.from([Buffer.alloc(101)]), { contentType: "x", maxBytes: 100 }),
    TooLargeError,
  );
  assert.equal(s.objects.head("ns", "data", "big"), null);
  assert.equal(readdirSync(join(dir, "objects")).length, 1, "no temporary file is left");
  assert.deepEqual(
    s.objects.list("ns", "data", "tr").map((o) => o.name),
    ["train.jsonl"],
  );
  assert.ok(s.objects.delete("ns", "data", "train.jsonl"));
  assert.equal(s.objects.read("ns", "data", "train.jsonl"), null);
  assert.equal(s.objects.bucket("ns", "data")?.compartmentId, "A");
  s.close();
});

test("work requests: errors and logs in order, paginated; unfinished ones found for recovery", () => {
  const s = open();
  s.workRequests.insert({
    id: "w1",
    compartmentId: "A",
    status: "IN_PROGRESS",
    operationType: "CREATE_MODEL",
    timeAccepted: "2024-01-01T00:00:00Z",
    resources: [{ identifier: "m1" }],
  });
  s.workRequests.insert({
    id: "w2",
    compartmentId: "A",
    status: "SUCCEEDED",
    operationType: "CREATE_ENDPOINT",
    timeAccepted: "2024-01-02T00:00:00Z",
    resources: [{ identifier: "e1" }],
  });
  for (let i = 0; i < 3; i++) s.workRequests.addLog("w1", `log ${i}`);
  s.workRequests.addError("w1", "InvalidTrainingData", "line 3: not JSON");
  assert.deepEqual(
    s.workRequests.logs("w1", 2, 0).items.map((l) => l.message),
    ["log 0", "log 1"],
  );
  assert.equal(s.workRequests.logs("w1", 2, 2).more, false);
  assert.equal(s.workRequests.errors("w1", 10, 0).items[0]?.code, "InvalidTrainingData");
  assert.deepEqual(
    s.workRequests.unfinished().map((w) => w.id),
    ["w1"],
  );
  assert.deepEqual(
    s.workRequests.list({ compartmentIds: ["A"], resourceId: "e1", limit: 10, offset: 0 }).items.map((w) => w.id),
    ["w2"],
  );
  assert.deepEqual(s.workRequests.list({ compartmentIds: ["B"], limit: 10, offset: 0 }).items, []);
  s.close();
});

test("fine-tune jobs, events and metrics history; a re-reported step replaces the old point", () => {
  const s = open();
  s.models.insert(res("m1", "A", "2024-01-01T00:00:00Z"));
  s.fineTunes.createJob({ modelId: "m1", workRequestId: "w1", clusterId: "c1", state: "QUEUED" });
  s.fineTunes.setState("m1", "RUNNING", true);
  assert.deepEqual([s.fineTunes.job("m1")?.state, s.fineTunes.job("m1")?.attempts], ["RUNNING", 1]);
  s.fineTunes.addMetrics("m1", 1, { loss: 2 });
  s.fineTunes.addMetrics("m1", 2, { loss: 1.5 });
  s.fineTunes.addMetrics("m1", 2, { loss: 1.4 });
  assert.deepEqual(
    s.fineTunes.metrics("m1").map((p) => [p.step, p.loss]),
    [
      [1, 2],
      [2, 1.4],
    ],
  );
  s.fineTunes.addMetrics("m1", 2, { validationLoss: 1.6 }, true);
  assert.deepEqual(s.fineTunes.metrics("m1")[1], {
    loss: 1.4,
    validationLoss: 1.6,
    step: 2,
    timestamp: s.fineTunes.metrics("m1")[1]!.timestamp,
  });
  s.fineTunes.addEvent("m1", "INFO", "started");
  assert.equal(s.fineTunes.events("m1", 10, 0).items[0]?.message, "started");
  s.models.delete("m1");
  assert.equal(s.fineTunes.job("m1"), null, "history goes with its model");
  s.close();
});

test("atomic writes replace a file whole and leave no temporary file", async () => {
  const dir = tmp();
  const f = join(dir, "a", "b.json");
  await writeFileAtomic(f, "one");
  await writeFileAtomic(f, "two");
  assert.equal(readFileSync(f, "utf8"), "two");
  assert.deepEqual(readdirSync(join(dir, "a")), ["b.json"]);
  assert.ok(existsSync(f));
});

test("node registry: upsert keeps reservations; a core is held by one unit at most; release from an index; a deleted cluster frees its units", () => {
  const s = open();
  const node = { id: "n1", name: "box", cores: [0, 1, 2], memoryBytes: 8, accelerators: [], pinning: { enabled: false, reason: "test" } };
  s.nodes.upsert(node);
  s.clusters.insert(res("c1", "comp", "2024-01-01T00:00:00Z"));
  s.clusters.insert(res("c2", "comp", "2024-01-01T00:00:01Z"));
  s.nodes.reserve([
    { clusterId: "c1", unitIndex: 0, nodeId: "n1", cores: [0], memoryBytes: 2 },
    { clusterId: "c1", unitIndex: 1, nodeId: "n1", cores: [1, 2], memoryBytes: 2 },
  ]);
  assert.throws(
    () => s.tx(() => s.nodes.reserve([{ clusterId: "c2", unitIndex: 0, nodeId: "n1", cores: [2], memoryBytes: 1 }])),
    /core 2 of node n1 is already reserved/,
  );
  assert.deepEqual(s.nodes.reservations({ clusterId: "c2" }), [], "the refused reservation left nothing behind (transaction)");
  const again = s.nodes.upsert({ ...node, memoryBytes: 16 });
  assert.equal(again.memoryBytes, 16);
  assert.deepEqual(
    s.nodes.reservations().map((r) => [r.clusterId, r.unitIndex, r.cores]),
    [
      ["c1", 0, [0]],
      ["c1", 1, [1, 2]],
    ],
    "kept across a re-registration",
  );
  assert.equal(s.nodes.release("c1", 1), 1);
  assert.deepEqual(
    s.nodes.reservations({ nodeId: "n1" }).map((r) => r.unitIndex),
    [0],
  );
  s.nodes.reserve([{ clusterId: "c2", unitIndex: 0, nodeId: "n1", cores: [2], memoryBytes: 1 }]);
  s.clusters.delete("c1");
  assert.deepEqual(
    s.nodes.reservations().map((r) => r.clusterId),
    ["c2"],
    "rows of a deleted cluster cascade",
  );
  s.nodes.reserve([{ clusterId: "c2", unitIndex: 1, nodeId: "n1", cores: [0], memoryBytes: 1 }]);
  assert.equal(s.nodes.list().length, 1);
  s.close();
});

test("API keys: admin keys are flagged; others are not", () => {
  const s = open();
  const admin = s.apiKeys.create([], "ops", { admin: true });
  const plain = s.apiKeys.create(["a"]);
  assert.equal(s.apiKeys.verify(admin.key)!.admin, true);
  assert.equal(s.apiKeys.verify(plain.key)!.admin, false);
  s.close();
});
