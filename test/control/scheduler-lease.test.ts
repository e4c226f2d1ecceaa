// The fine-tune scheduler lease (PostgreSQL; skipped with the reason when there is none): with two API
// nodes' control planes on one database exactly one launches fine-tunes, whichever node took the request;
// when the holder dies (its session ends) the other takes the lease, follows the runs the dead one
// launched without launching them again, and launches the queued jobs. Runs here are fakes that outlive
// the API node that started them, as the job queue's runs do on their worker nodes.

import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import pg from "pg";
import {
  ControlPlane,
  type FineTuneExecutor,
  type FineTuneOutcome,
  type FineTuneRun,
  type FineTuneSpec,
  PgSchedulerLease,
  type SprigStore,
} from "../../src/control/index.ts";
import { PostgresDb, Store } from "../../src/store/index.ts";
import { type PostgresServer, skipReason, startPostgres } from "../store/postgres-server.ts";
import { FakeHosting, until } from "./fakes.ts";
import { A, FAKE_NODE, IMPORT_ROOTS, TINY, upload } from "./helpers.ts";

const skip = skipReason() ?? undefined;
if (skip) console.log(`# ${skip}`);

let server: PostgresServer;
before(async () => {
  if (!skip) server = await startPostgres();
});
after(async () => {
  await server?.stop();
});

const crashed = (message: string): FineTuneOutcome => ({ ok: false, code: "WorkerCrashed", message, crashed: true });

/** Runs shared by every API node (as queued jobs are): started by one, followed by any. */
class SharedRuns {
  readonly launches: { node: string; jobId: string }[] = [];
  private readonly jobs = new Map<string, { spec: FineTuneSpec; outcome: Promise<FineTuneOutcome>; end(o: FineTuneOutcome): void }>();

  private follow(jobId: string): FineTuneRun {
    const j = this.jobs.get(jobId)!;
    let detach!: () => void;
    const detached = new Promise<FineTuneOutcome>((res) => (detach = () => res(crashed("detached"))));
    return {
      done: Promise.race([j.outcome, detached]),
      cancel: () => j.end({ ok: false, code: "Canceled", message: "canceled", canceled: true }),
      detach,
    };
  }

  executor(node: string): FineTuneExecutor {
    return {
      start: (spec, ev) => {
        this.launches.push({ node, jobId: spec.jobId });
        let end!: (o: FineTuneOutcome) => void;
        const outcome = new Promise<FineTuneOutcome>((res) => (end = res));
        this.jobs.set(spec.jobId, { spec, outcome, end });
        ev.onLog(`launched by API node ${node}`);
        return this.follow(spec.jobId);
      },
      adopt: async (jobId) => (this.jobs.has(jobId) ? { unit: this.jobs.get(jobId)!.spec.unit, run: this.follow(jobId) } : null),
    };
  }

  succeed(jobId: string): void {
    this.jobs.get(jobId)!.end({ ok: true, finalAccuracy: 0.5, finalLoss: 0.25, trainableParameters: 1 });
  }
}

interface ApiNode {
  name: string;
  store: SprigStore;
  cp: ControlPlane;
  lease: PgSchedulerLease;
}

async function apiNode(name: string, database: string, runs: SharedRuns): Promise<ApiNode> {
  const store = (await Store.open(mkdtempSync(join(tmpdir(), `sprig-lease-${name}-`)), { database })) as SprigStore;
  const lease = new PgSchedulerLease((store.db as PostgresDb).pool, { intervalMs: 50 });
  const cp = new ControlPlane({
    store,
    fineTune: runs.executor(name),
    hosting: new FakeHosting(),
    config: { modelImportRoots: IMPORT_ROOTS },
    node: FAKE_NODE,
    schedulerLease: lease,
  });
  await cp.start();
  return { name, store, cp, lease };
}

test("PostgreSQL: one API node of two schedules fine-tunes; the other takes over when it dies and adopts its runs", { skip }, async () => {
  const database = await server.newDatabase();
  const runs = new SharedRuns();
  const a = await apiNode("a", database, runs);
  const b = await apiNode("b", database, runs);
  const admin = new pg.Client({ connectionString: database });
  await admin.connect();
  try {
    assert.equal(a.lease.held(), true, "the first API node holds the lease");
    assert.equal(b.lease.held(), false, "the second does not");

    // everything through the node without the lease: a 2-unit cluster, three fine-tunes
    const base = await b.cp.models.create(A, { compartmentId: "compA", modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: TINY } });
    const ftc = await b.cp.clusters.create(A, { compartmentId: "compA", type: "FINE_TUNING", unitCount: 2 });
    await until(async () => (await b.cp.clusters.get(A, ftc.value.id)).value.lifecycleState === "ACTIVE", "cluster ACTIVE");
    const trainingDataset = await upload({ store: b.store } as Parameters<typeof upload>[0]);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await b.cp.models.create(A, {
        compartmentId: "compA",
        baseModelId: base.value.id,
        fineTuneDetails: { dedicatedAiClusterId: ftc.value.id, trainingDataset },
      });
      ids.push(m.value.id);
    }
    // B's own create kicked B's scheduler: it launched nothing; A launches when it kicks (its next create, or here)
    await b.cp.fineTunes.kick();
    assert.equal(runs.launches.length, 0, "the node without the lease launches nothing");
    await a.cp.fineTunes.kick();
    await a.cp.fineTunes.kick();
    assert.deepEqual(
      runs.launches.map((l) => l.node),
      ["a", "a"],
      "the holder launches one job per unit",
    );
    const [first, second] = runs.launches.map((l) => l.jobId);
    const third = ids.find((id) => id !== first && id !== second)!;
    assert.equal((await b.store.fineTunes.job(third))?.state, "QUEUED", "the third waits for a unit");

    // A dies: its session ends (as a SIGKILLed process's does) — B takes the lease, A notices it lost it
    const holder = await admin.query<{ pid: number }>(
      "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid = 1 AND granted",
      [0x5f7 + 3],
    );
    assert.equal(holder.rows.length, 1, "one session holds the lease");
    await admin.query("SELECT pg_terminate_backend($1)", [holder.rows[0]!.pid]);
    await until(() => b.lease.held(), "B takes the lease", 4000);
    await until(() => !a.lease.held(), "A knows it lost it", 4000);
    assert.equal(runs.launches.length, 2, "the runs A launched are followed by B, not launched again");
    assert.equal((await b.store.fineTunes.job(first!))?.state, "RUNNING");

    // a run A launched ends: B records it, and launches the queued job on the freed unit
    runs.succeed(first!);
    await until(async () => (await b.cp.models.get(A, first!)).value.lifecycleState === "ACTIVE", "the first model ACTIVE", 4000);
    await until(() => runs.launches.length === 3, "B launches the third", 4000);
    assert.deepEqual(runs.launches.at(-1), { node: "b", jobId: third });
    runs.succeed(second!);
    runs.succeed(third);
    for (const id of ids) {
      await until(async () => (await b.cp.models.get(A, id)).value.lifecycleState === "ACTIVE", `model ${id} ACTIVE`, 4000);
      const ev = (await b.store.fineTunes.events(id, 100, 0)).items.map((e) => e.message);
      assert.equal(ev.filter((e) => e.startsWith("succeeded")).length, 1, `one ending recorded: ${JSON.stringify(ev)}`);
      assert.equal(ev.filter((e) => e.startsWith("launched by")).length, 1, `one launch: ${JSON.stringify(ev)}`);
    }
  } finally {
    await admin.end();
    for (const n of [b, a]) {
      await n.cp.close();
      await n.store.close();
    }
  }
});

test("PostgreSQL: a lease given up (the holder stopped) is taken by the next node's try", { skip }, async () => {
  const url = await server.newDatabase();
  const pools = [0, 1].map(() => {
    const p = new pg.Pool({ connectionString: url, max: 2 });
    p.on("error", () => {});
    return p;
  });
  const seen: string[] = [];
  const leases = pools.map((p) => new PgSchedulerLease(p, { intervalMs: 50 }));
  try {
    for (const [i, l] of leases.entries())
      await l.start({ acquired: () => void seen.push(`${i} acquired`), lost: () => void seen.push(`${i} lost`) });
    assert.deepEqual(
      leases.map((l) => l.held()),
      [true, false],
    );
    await leases[0]!.stop();
    await until(() => leases[1]!.held(), "the second takes the lease", 4000);
    assert.deepEqual(seen, ["0 acquired", "1 acquired"]);
  } finally {
    for (const l of leases) await l.stop();
    for (const p of pools) await p.end();
  }
});
