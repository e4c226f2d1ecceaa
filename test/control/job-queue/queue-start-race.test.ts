// Several nodes starting at once on a fresh database (PostgreSQL; skipped with the reason when there is
// none): each opens the pg-boss queue and creates its own node's queue at the same moment. Unserialised,
// pg-boss's create_queue of two queues deadlocks (each adds a partition and a foreign key to the queue
// table) and PostgreSQL aborts one of them; here every node starts and claims, round after round.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import pg from "pg";
import { PgBossQueue } from "../../../src/control/job-queue/index.ts";
import { spec } from "./fake-queue.ts";
import { type PostgresServer, skipReason, startPostgres } from "../../store/postgres-server.ts";

const skip = skipReason() ?? undefined;
if (skip) console.log(`# ${skip}`);

let server: PostgresServer;
before(async () => {
  if (!skip) server = await startPostgres();
});
after(async () => {
  await server?.stop();
});

test("nodes that start at once on a fresh database all open the queue and create their node queues", { skip }, async () => {
  const NODES = 4;
  // the deadlock needs two creations to overlap: several rounds, each on a new database
  for (let round = 0; round < 4; round++) {
    const url = await server.newDatabase();
    // one pool per node: separate sessions, as separate processes have
    const pools = Array.from({ length: NODES }, () => {
      const p = new pg.Pool({ connectionString: url, max: 4 });
      p.on("error", () => {});
      return p;
    });
    try {
      const opened = await Promise.allSettled(pools.map((p) => PgBossQueue.open(p)));
      assert.deepEqual(
        opened.map((r) => (r.status === "rejected" ? String(r.reason) : "ok")),
        Array(NODES).fill("ok"),
        `round ${round}: every node opens the queue`,
      );
      const queues = opened.map((r) => (r as PromiseFulfilledResult<PgBossQueue>).value);
      // each node claims from its queue while another sends to it: both create the queue
      const work = await Promise.allSettled(
        queues.flatMap((q, i) => [q.claim(`n${i}`, 1), queues[(i + 1) % NODES]!.enqueue(spec(`ft-${round}-${i}`, `n${i}`))]),
      );
      assert.deepEqual(
        work.map((r) => (r.status === "rejected" ? String(r.reason) : "ok")),
        Array(2 * NODES).fill("ok"),
        `round ${round}: no queue creation failed`,
      );
      // every job sits in its own node's queue
      for (let i = 0; i < NODES; i++) {
        const j = await queues[0]!.current(`ft-${round}-${i}`);
        assert.equal(j?.queue, `fine-tune.n${i}`);
      }
      for (const q of queues) await q.close();
    } finally {
      for (const p of pools) await p.end();
    }
  }
});
