// Store: migrations, resource tables (etag compare-and-set, scoped listing, pagination), API keys,
// object storage, fine-tune history, the node registry, retry tokens, transactions; atomic files. The same suite runs
// on SQLite and on PostgreSQL (skipped, saying why, where no PostgreSQL server can be had).

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, test } from "node:test";
import { MIGRATIONS } from "../../src/store/migrations.ts";
import {
  type SqlDb,
  Store,
  TooLargeError,
  migrate,
  openDatabase,
  openPostgres,
  writeFileAtomic,
  type StoredResource,
  type StoredWorkRequest,
} from "../../src/store/index.ts";
import { BACKENDS } from "./backends.ts";

type R = StoredResource & { extra?: string };
const tmp = () => mkdtempSync(join(tmpdir(), "sprig-store-"));
const res = (id: string, compartmentId: string | null, t: string, name = id): R => ({
  id,
  compartmentId,
  lifecycleState: "ACTIVE",
  displayName: name,
  timeCreated: t,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const node = { id: "n1", name: "box", cores: [0, 1, 2], memoryBytes: 8, accelerators: [], pinning: { enabled: false, reason: "test" } };

test("every migration has its PostgreSQL form", () => {
  for (const m of MIGRATIONS) assert.ok(m.sql.trim() && m.postgres.trim(), `migration ${m.version}`);
  assert.deepEqual(
    MIGRATIONS.map((m) => m.version),
    MIGRATIONS.map((_, i) => i + 1),
    "numbered 1, 2, … without gaps",
  );
});

test("SQLite: WAL and foreign keys are on", async () => {
  const db = await openDatabase(join(tmp(), "sprig.db"));
  assert.equal(db.raw.pragma("journal_mode", { simple: true }), "wal");
  assert.equal(db.raw.pragma("foreign_keys", { simple: true }), 1);
  await db.close();
});

for (const b of BACKENDS) {
  describe(`store on ${b.name}`, { skip: b.skip }, () => {
    const open = async (dir = tmp(), o?: { database?: string }) =>
      Store.open<R, R, R, StoredWorkRequest & { resources: { identifier: string }[] }>(dir, o ?? (await b.options()));
    const tables = async (db: SqlDb): Promise<string[]> =>
      (
        await db.all<{ name: string }>(
          db.dialect === "sqlite"
            ? "SELECT name FROM sqlite_master WHERE type = 'table'"
            : "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'",
        )
      ).map((r) => r.name);

    test("migrations apply once, are recorded, and a database from a newer version is refused", async () => {
      const o = await b.options();
      const db = o.database ? await openPostgres(o.database) : await openDatabase(":memory:");
      const versions = (await db.all<{ version: number }>("SELECT version FROM schema_migrations ORDER BY version")).map((r) => r.version);
      assert.deepEqual(
        versions,
        MIGRATIONS.map((m) => m.version),
      );
      assert.deepEqual(await migrate(db, MIGRATIONS), [], "a second run applies nothing");
      const have = await tables(db);
      for (const t of [
        "dedicated_ai_clusters",
        "models",
        "endpoints",
        "work_requests",
        "api_keys",
        "objects",
        "fine_tune_metrics",
        "nodes",
        "retry_tokens",
      ])
        assert.ok(have.includes(t), t);
      await db.run("INSERT INTO schema_migrations VALUES (999, 'future', 'x')");
      await assert.rejects(migrate(db, MIGRATIONS), /migrations 999 .* upgrade Sprig/);
      await db.close();
    });

    test("a failing migration leaves the schema as it was (the upgrade is one transaction)", async () => {
      const o = await b.options();
      const db = o.database
        ? await openPostgres(o.database, MIGRATIONS.slice(0, 1))
        : await openDatabase(":memory:", MIGRATIONS.slice(0, 1));
      const broken = [...MIGRATIONS, { version: 99, name: "broken", sql: "CREATE TABLE nope (", postgres: "CREATE TABLE nope (" }];
      await assert.rejects(migrate(db, broken));
      assert.ok(!(await tables(db)).includes("nodes"), "migration 2 was rolled back with the broken one");
      assert.deepEqual(
        (await db.all<{ version: number }>("SELECT version FROM schema_migrations")).map((r) => r.version),
        [1],
      );
      await db.close();
    });

    test("rows persist across reopening", async () => {
      const dir = tmp();
      const o = await b.options();
      const s = await open(dir, o);
      await s.clusters.insert(res("c1", "comp", "2024-01-01T00:00:00Z"));
      await s.close();
      const s2 = await open(dir, o);
      assert.equal((await s2.clusters.get("c1"))?.value.displayName, "c1");
      await s2.close();
    });

    test("updates honour the etag (compare-and-set) and change it", async () => {
      const s = await open();
      const etag = await s.models.insert(res("m1", "comp", "2024-01-01T00:00:00Z"));
      const next = await s.models.update({ ...res("m1", "comp", "2024-01-01T00:00:00Z"), displayName: "renamed" }, etag);
      assert.ok(next && next !== etag);
      assert.equal(await s.models.update(res("m1", "comp", "2024-01-01T00:00:00Z"), etag), null, "a stale etag loses");
      assert.equal((await s.models.get("m1"))?.value.displayName, "renamed");
      assert.equal((await s.models.get("m1"))?.etag, next);
      assert.ok(await s.models.delete("m1"));
      assert.equal(await s.models.get("m1"), null);
      await s.close();
    });

    test("a guard sees every write and can refuse it", async () => {
      const s = await open();
      const seen: [string | null, string][] = [];
      s.models.guard = (prev, next) => {
        seen.push([prev?.lifecycleState ?? null, next.lifecycleState]);
        if (next.lifecycleState === "BAD") throw new Error("refused");
      };
      await s.models.insert(res("m1", "comp", "2024-01-01T00:00:00Z"));
      await s.models.update({ ...res("m1", "comp", "2024-01-01T00:00:00Z"), lifecycleState: "DELETING" });
      await assert.rejects(s.models.update({ ...res("m1", "comp", "2024-01-01T00:00:00Z"), lifecycleState: "BAD" }), /refused/);
      assert.deepEqual(seen, [
        [null, "ACTIVE"],
        ["ACTIVE", "DELETING"],
        ["DELETING", "BAD"],
      ]);
      assert.equal((await s.models.get("m1"))?.value.lifecycleState, "DELETING", "the refused write did not land");
      await s.close();
    });

    test("listing is scoped to compartments, includes global rows on request, sorts and paginates", async () => {
      const s = await open();
      for (let i = 0; i < 5; i++) await s.endpoints.insert(res(`a${i}`, "A", `2024-01-0${i + 1}T00:00:00Z`));
      await s.endpoints.insert(res("b0", "B", "2024-01-09T00:00:00Z"));
      await s.endpoints.insert(res("g0", null, "2024-01-08T00:00:00Z"));
      // byte order, as SQLite sorts (PostgreSQL columns are COLLATE "C"): upper case before lower case
      await s.endpoints.insert(res("n1", "N", "2024-01-01T00:00:00Z", "beta"));
      await s.endpoints.insert(res("n2", "N", "2024-01-01T00:00:00Z", "Zeta"));
      const p1 = await s.endpoints.list({ compartmentIds: ["A"], limit: 2, offset: 0 });
      assert.deepEqual(
        p1.items.map((r) => r.id),
        ["a4", "a3"],
      );
      assert.equal(p1.more, true);
      const p3 = await s.endpoints.list({ compartmentIds: ["A"], limit: 2, offset: 4 });
      assert.deepEqual(
        p3.items.map((r) => r.id),
        ["a0"],
      );
      assert.equal(p3.more, false);
      assert.deepEqual(
        (await s.endpoints.list({ compartmentIds: ["A"], includeGlobal: true, sortOrder: "ASC", limit: 10, offset: 0 })).items.map(
          (r) => r.id,
        ),
        ["a0", "a1", "a2", "a3", "a4", "g0"],
      );
      assert.deepEqual((await s.endpoints.list({ compartmentIds: [], limit: 10, offset: 0 })).items, []);
      assert.deepEqual(
        (await s.endpoints.list({ compartmentIds: ["A", "B"], displayName: "b0", limit: 10, offset: 0 })).items.map((r) => r.id),
        ["b0"],
      );
      assert.deepEqual(
        (await s.endpoints.list({ compartmentIds: ["N"], sortBy: "displayName", sortOrder: "ASC", limit: 10, offset: 0 })).items.map(
          (r) => r.displayName,
        ),
        ["Zeta", "beta"],
      );
      assert.deepEqual((await s.endpoints.inStates(["ACTIVE"])).map((r) => r.id).slice(0, 2), ["a0", "n1"]);
      assert.equal(await s.endpoints.count((r) => r.compartmentId === "A"), 5);
      await s.close();
    });

    test("API keys: the secret is shown once, only its hash is stored, revoked keys fail; admin keys are flagged", async () => {
      const s = await open();
      const { key, record } = await s.apiKeys.create(["A", "B"], "ci");
      assert.match(key, /^sprig_[A-Za-z0-9_-]{43}$/);
      const dump = JSON.stringify(await s.db.all("SELECT * FROM api_keys"));
      assert.ok(!dump.includes(key.slice(6)), "the secret is not stored");
      assert.deepEqual((await s.apiKeys.verify(key))?.compartments, ["A", "B"]);
      assert.equal(await s.apiKeys.verify(`${key}x`), null);
      assert.equal(await s.apiKeys.verify(""), null);
      assert.ok(await s.apiKeys.revoke(record.id));
      assert.ok(!(await s.apiKeys.revoke(record.id)), "revoked once");
      assert.equal(await s.apiKeys.verify(key), null);
      assert.deepEqual(
        (await s.apiKeys.list()).map((k) => [k.id, k.timeRevoked !== null]),
        [[record.id, true]],
      );
      const admin = await s.apiKeys.create([], "ops", { admin: true });
      const plain = await s.apiKeys.create(["a"]);
      assert.equal((await s.apiKeys.verify(admin.key))!.admin, true);
      assert.equal((await s.apiKeys.verify(plain.key))!.admin, false);
      await s.close();
    });

    test("objects: put, read, overwrite, list, delete; an oversized upload leaves nothing behind", async () => {
      const dir = tmp();
      const s = await open(dir);
      await s.objects.createBucket("ns", "data", "A");
      await s.objects.createBucket("ns", "data", "B");
      assert.equal((await s.objects.bucket("ns", "data"))?.compartmentId, "A", "the first PUT's compartment owns the bucket");
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
      assert.equal(readFileSync((await s.objects.path("ns", "data", "train.jsonl"))!, "utf8"), "bye\n");
      assert.equal(readdirSync(join(dir, "objects")).length, 1, "the overwritten file is removed");
      await assert.rejects(
        s.objects.put("ns", "data", "big", Readable.from([Buffer.alloc(101)]), { contentType: "x", maxBytes: 100 }),
        TooLargeError,
      );
      assert.equal(await s.objects.head("ns", "data", "big"), null);
      assert.equal(readdirSync(join(dir, "objects")).length, 1, "no temporary file is left");
      assert.deepEqual((await s.objects.head("ns", "data", "train.jsonl"))?.size, 4);
      assert.deepEqual(
        (await s.objects.list("ns", "data", "tr")).map((o) => o.name),
        ["train.jsonl"],
      );
      assert.deepEqual(await s.objects.list("ns", "data", "x"), []);
      assert.ok(await s.objects.delete("ns", "data", "train.jsonl"));
      assert.equal(await s.objects.read("ns", "data", "train.jsonl"), null);
      await s.close();
    });

    test("work requests: errors and logs in order, paginated; unfinished ones found for recovery", async () => {
      const s = await open();
      await s.workRequests.insert({
        id: "w1",
        compartmentId: "A",
        status: "IN_PROGRESS",
        operationType: "CREATE_MODEL",
        timeAccepted: "2024-01-01T00:00:00Z",
        resources: [{ identifier: "m1" }],
      });
      await s.workRequests.insert({
        id: "w2",
        compartmentId: "A",
        status: "SUCCEEDED",
        operationType: "CREATE_ENDPOINT",
        timeAccepted: "2024-01-02T00:00:00Z",
        resources: [{ identifier: "e1" }],
      });
      for (let i = 0; i < 3; i++) await s.workRequests.addLog("w1", `log ${i}`);
      await s.workRequests.addError("w1", "InvalidTrainingData", "line 3: not JSON");
      assert.deepEqual(
        (await s.workRequests.logs("w1", 2, 0)).items.map((l) => l.message),
        ["log 0", "log 1"],
      );
      assert.equal((await s.workRequests.logs("w1", 2, 0)).more, true);
      assert.equal((await s.workRequests.logs("w1", 2, 2)).more, false);
      assert.equal((await s.workRequests.errors("w1", 10, 0)).items[0]?.code, "InvalidTrainingData");
      assert.deepEqual(
        (await s.workRequests.unfinished()).map((w) => w.id),
        ["w1"],
      );
      assert.deepEqual(
        (await s.workRequests.list({ compartmentIds: ["A"], resourceId: "e1", limit: 10, offset: 0 })).items.map((w) => w.id),
        ["w2"],
      );
      assert.deepEqual(
        (await s.workRequests.list({ compartmentIds: ["A"], status: "IN_PROGRESS", limit: 10, offset: 0 })).items.map((w) => w.id),
        ["w1"],
      );
      assert.deepEqual((await s.workRequests.list({ compartmentIds: ["B"], limit: 10, offset: 0 })).items, []);
      await s.workRequests.update({ ...(await s.workRequests.get("w1"))!, status: "SUCCEEDED" });
      assert.deepEqual(await s.workRequests.unfinished(), []);
      await s.close();
    });

    test("fine-tune jobs, events and metrics history; a re-reported step replaces the old point", async () => {
      const s = await open();
      await s.models.insert(res("m1", "A", "2024-01-01T00:00:00Z"));
      await s.fineTunes.createJob({ modelId: "m1", workRequestId: "w1", clusterId: "c1", state: "QUEUED" });
      await s.fineTunes.setState("m1", "RUNNING", true);
      assert.deepEqual([(await s.fineTunes.job("m1"))?.state, (await s.fineTunes.job("m1"))?.attempts], ["RUNNING", 1]);
      assert.deepEqual(
        (await s.fineTunes.jobsInStates(["RUNNING", "QUEUED"])).map((j) => j.modelId),
        ["m1"],
      );
      await s.fineTunes.addMetrics("m1", 1, { loss: 2 });
      await s.fineTunes.addMetrics("m1", 2, { loss: 1.5 });
      await s.fineTunes.addMetrics("m1", 2, { loss: 1.4 });
      assert.deepEqual(
        (await s.fineTunes.metrics("m1")).map((p) => [p.step, p.loss]),
        [
          [1, 2],
          [2, 1.4],
        ],
      );
      await s.fineTunes.addMetrics("m1", 2, { validationLoss: 1.6 }, true);
      const points = await s.fineTunes.metrics("m1");
      assert.deepEqual(points[1], { loss: 1.4, validationLoss: 1.6, step: 2, timestamp: points[1]!.timestamp });
      await s.fineTunes.addEvent("m1", "INFO", "started");
      await s.fineTunes.addEvent("m1", "WARN", "slow");
      assert.deepEqual(
        (await s.fineTunes.events("m1", 10, 0)).items.map((e) => [e.level, e.message]),
        [
          ["INFO", "started"],
          ["WARN", "slow"],
        ],
      );
      await s.models.delete("m1");
      assert.equal(await s.fineTunes.job("m1"), null, "history goes with its model");
      assert.deepEqual(await s.fineTunes.metrics("m1"), []);
      await s.close();
    });

    test("node registry: upsert keeps reservations; a core is held by one unit at most; release from an index; a deleted cluster frees its units", async () => {
      const s = await open();
      await s.nodes.upsert(node);
      await s.clusters.insert(res("c1", "comp", "2024-01-01T00:00:00Z"));
      await s.clusters.insert(res("c2", "comp", "2024-01-01T00:00:01Z"));
      await s.nodes.reserve([
        { clusterId: "c1", unitIndex: 0, nodeId: "n1", cores: [0], memoryBytes: 2 },
        { clusterId: "c1", unitIndex: 1, nodeId: "n1", cores: [1, 2], memoryBytes: 2 },
      ]);
      await assert.rejects(
        s.tx(() => s.nodes.reserve([{ clusterId: "c2", unitIndex: 0, nodeId: "n1", cores: [2], memoryBytes: 1 }])),
        /core 2 of node n1 is already reserved/,
      );
      assert.deepEqual(await s.nodes.reservations({ clusterId: "c2" }), [], "the refused reservation left nothing behind (transaction)");
      const again = await s.nodes.upsert({ ...node, memoryBytes: 16 });
      assert.equal(again.memoryBytes, 16);
      assert.deepEqual(
        (await s.nodes.reservations()).map((r) => [r.clusterId, r.unitIndex, r.cores]),
        [
          ["c1", 0, [0]],
          ["c1", 1, [1, 2]],
        ],
        "kept across a re-registration",
      );
      assert.equal(await s.nodes.release("c1", 1), 1);
      assert.deepEqual(
        (await s.nodes.reservations({ nodeId: "n1" })).map((r) => r.unitIndex),
        [0],
      );
      await s.nodes.reserve([{ clusterId: "c2", unitIndex: 0, nodeId: "n1", cores: [2], memoryBytes: 1 }]);
      await s.clusters.delete("c1");
      assert.deepEqual(
        (await s.nodes.reservations()).map((r) => r.clusterId),
        ["c2"],
        "rows of a deleted cluster cascade",
      );
      await s.nodes.reserve([{ clusterId: "c2", unitIndex: 1, nodeId: "n1", cores: [0], memoryBytes: 1 }]);
      assert.equal((await s.nodes.list()).length, 1);
      assert.equal((await s.nodes.get("n1"))?.name, "box");
      assert.equal(await s.nodes.get("nope"), null);
      await s.close();
    });

    test("a transaction that throws leaves nothing; a statement from outside it neither joins it nor sees it", async () => {
      const s = await open();
      let inside!: () => void;
      const started = new Promise<void>((r) => (inside = r));
      const tx = s.tx(async () => {
        await s.clusters.insert(res("t1", "comp", "2024-01-01T00:00:00Z"));
        inside();
        await sleep(50);
        throw new Error("boom");
      });
      const failed = tx.then(
        () => null,
        (e: Error) => e,
      );
      await started;
      // issued while the transaction is open, from another async context: not part of it
      const outside = s.clusters.insert(res("o1", "comp", "2024-01-01T00:00:00Z"));
      const seen = await s.clusters.get("t1");
      assert.match(String(await failed), /boom/);
      await outside;
      assert.equal(seen, null, "the uncommitted row was not visible outside the transaction");
      assert.equal(await s.clusters.get("t1"), null, "rolled back");
      assert.ok(await s.clusters.get("o1"), "the outside write stands");
      // nested: a savepoint that fails rolls back alone
      await s.tx(async () => {
        await s.clusters.insert(res("k1", "comp", "2024-01-01T00:00:00Z"));
        await assert.rejects(
          s.tx(async () => {
            await s.clusters.insert(res("k2", "comp", "2024-01-01T00:00:00Z"));
            throw new Error("inner");
          }),
        );
      });
      assert.ok(await s.clusters.get("k1"));
      assert.equal(await s.clusters.get("k2"), null);
      await s.close();
    });

    test("retry tokens: one claim per key and token (the same statement on both dialects), answers kept, purged by age", async () => {
      const s = await open();
      const r = s.retryTokens;
      assert.equal(await r.claim("k1", "t", "h1", "2024-01-01T00:00:00Z"), true);
      assert.equal(await r.claim("k1", "t", "h2", "2024-01-01T00:00:01Z"), false, "taken: ON CONFLICT DO NOTHING changes no row");
      assert.equal(await r.claim("k2", "t", "h1", "2024-01-01T00:00:00Z"), true, "per API key");
      assert.deepEqual(await r.get("k1", "t"), {
        keyId: "k1",
        token: "t",
        requestHash: "h1",
        response: null,
        timeCreated: "2024-01-01T00:00:00Z",
      });
      await r.complete("k1", "t", { status: 200, headers: { etag: "e" }, body: "{}" });
      assert.deepEqual((await r.get("k1", "t"))?.response, { status: 200, headers: { etag: "e" }, body: "{}" });
      await r.release("k2", "t");
      assert.equal(await r.get("k2", "t"), null);
      assert.equal(await r.claim("k1", "u", "h", "2024-01-02T00:00:00Z"), true);
      assert.equal(await r.purge("2024-01-01T12:00:00Z"), 1);
      assert.equal(await r.get("k1", "t"), null);
      assert.ok(await r.get("k1", "u"));
      await s.close();
    });

    test("placements that read, decide and reserve at once run one after the other (lockForPlacement)", async () => {
      const s = await open();
      await s.nodes.upsert(node);
      for (const id of ["p1", "p2", "p3"]) await s.clusters.insert(res(id, "comp", "2024-01-01T00:00:00Z"));
      // each takes the lowest free core; without the lock, all three would read the same free set and collide
      const place = (clusterId: string) =>
        s.tx(async () => {
          await s.nodes.lockForPlacement();
          const held = new Set((await s.nodes.reservations()).flatMap((r) => r.cores));
          const core = node.cores.find((c) => !held.has(c))!;
          await sleep(30);
          await s.nodes.reserve([{ clusterId, unitIndex: 0, nodeId: "n1", cores: [core], memoryBytes: 1 }]);
        });
      await Promise.all([place("p1"), place("p2"), place("p3")]);
      assert.deepEqual(
        (await s.nodes.reservations()).flatMap((r) => r.cores).sort((x, y) => x - y),
        [0, 1, 2],
      );
      await s.close();
    });
  });
}

test("atomic writes replace a file whole and leave no temporary file", async () => {
  const dir = tmp();
  const f = join(dir, "a", "b.json");
  await writeFileAtomic(f, "one");
  await writeFileAtomic(f, "two");
  assert.equal(readFileSync(f, "utf8"), "two");
  assert.deepEqual(readdirSync(join(dir, "a")), ["b.json"]);
  assert.ok(existsSync(f));
});
