// The pg-boss queue against a real PostgreSQL (test/store/postgres-server.ts; skipped with the reason when
// there is none): per-node claiming, one live job per fine-tune, re-queue to another node in one step,
// final failures, and the run lock held by one session at a time.

import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { SprigStore } from "../../../src/control/index.ts";
import { type PgBossQueue, openFineTuneQueue } from "../../../src/control/job-queue/index.ts";
import { Store } from "../../../src/store/index.ts";
import { spec } from "./fake-queue.ts";
import { type PostgresServer, skipReason, startPostgres } from "../../store/postgres-server.ts";

const skip = skipReason() ?? undefined;
if (skip) console.log(`# ${skip}`);

let server: PostgresServer;
const stores: SprigStore[] = [];
const queues: PgBossQueue[] = [];
/** a store and queue of their own (another process, as far as PostgreSQL sessions go) */
async function open(url: string): Promise<PgBossQueue> {
  const s = (await Store.open(mkdtempSync(join(tmpdir(), "sprig-pgq-")), { database: url })) as SprigStore;
  stores.push(s);
  const q = await openFineTuneQueue(s);
  queues.push(q);
  return q;
}

before(async () => {
  if (!skip) server = await startPostgres();
});
after(async () => {
  for (const q of queues) await q.close();
  for (const s of stores) await s.close();
  await server?.stop();
});

test("jobs are claimed only by their node, and a fine-tune has one live job however often it is queued", { skip }, async () => {
  const q = await open(await server.newDatabase());
  const first = await q.enqueue(spec("ft1", "node-a"));
  assert.equal(await q.enqueue(spec("ft1", "node-a")), first, "a retried enqueue returns the queued job");
  assert.deepEqual(await q.claim("node-b", 8), [], "node-b claims nothing of node-a's");
  const [job, ...rest] = await q.claim("node-a", 8);
  assert.equal(job?.id, first);
  assert.deepEqual(rest, []);
  assert.equal(job!.data.spec.unit.nodeId, "node-a");
  assert.equal(await q.enqueue(spec("ft1", "node-a")), first, "nor while it runs");
  assert.deepEqual(await q.claim("node-a", 8), [], "and it is claimed once");

  await q.complete(job!, { ok: true, finalAccuracy: 0.5, finalLoss: 1, trainableParameters: 3 });
  const done = await q.current("ft1");
  assert.equal(done?.state, "completed");
  assert.deepEqual(done?.output?.outcome, { ok: true, finalAccuracy: 0.5, finalLoss: 1, trainableParameters: 3 });
  assert.notEqual(await q.enqueue(spec("ft1", "node-a")), first, "once it ended, a new run is a new job");
});

test("a re-queue moves a live job to another node in one step; failures retry on the node unless final", { skip }, async () => {
  const q = await open(await server.newDatabase());
  await q.enqueue(spec("ft2", "node-a"));
  const [job] = await q.claim("node-a", 1);
  const moved = await q.move(job!, spec("ft2", "node-b"));
  assert.deepEqual(
    (await q.jobsOf("node-a", ["created", "retry", "active", "cancelled"])).map((j) => j.state),
    ["cancelled"],
  );
  const cur = await q.current("ft2");
  assert.deepEqual([cur?.id, cur?.queue, cur?.state], [moved, "fine-tune.node-b", "created"]);
  assert.equal(await q.enqueue(spec("ft2", "node-b")), moved, "one live job after the move");

  const [onB] = await q.claim("node-b", 1);
  await q.fail(onB!, "the consumer stopped");
  assert.equal((await q.current("ft2"))?.state, "retry", "a failed job comes back on its node");
  const [again] = await q.claim("node-b", 1);
  assert.equal(again?.id, moved);
  await q.fail(again!, "node-b was lost", false);
  const end = await q.current("ft2");
  assert.equal(end?.state, "failed");
  assert.equal(end?.output?.message, "node-b was lost");
});

test("a fine-tune's run lock is held by one session at a time", { skip }, async () => {
  const url = await server.newDatabase();
  const [q1, q2] = [await open(url), await open(url)];
  const lock = await q1.tryLock("ft3");
  assert.ok(lock);
  assert.equal(await q2.tryLock("ft3"), null, "another session cannot take it");
  assert.equal(await q1.tryLock("ft3").then((l) => (l ? "got" : null)), null, "nor another connection of the same pool");
  const other = await q2.tryLock("ft4");
  assert.ok(other, "another fine-tune's lock is free");
  await other.release();
  await lock.release();
  const l2 = await q2.tryLock("ft3");
  assert.ok(l2, "free once released");
  await l2.release();
});
