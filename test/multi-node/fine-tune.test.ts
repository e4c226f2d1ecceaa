// Several machines, for real on one, the fine-tune half: PostgreSQL, one API node and two worker nodes as
// separate `sprig` processes (own data directories, one shared artifacts directory). Through the API: a
// FINE_TUNING cluster, a T-Few fine-tune queued for the worker node holding its unit; that node is SIGKILLed
// once a checkpoint exists; the node is declared lost, the unit and the job move to the other node, which
// resumes from the last checkpoint, and the model ends ACTIVE with its metrics, no step lost.

import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Client, FIXTURES, type Json, waitFor } from "../faults/helpers.ts";
import { type PostgresServer, skipReason, startPostgres } from "../store/postgres-server.ts";
import { type Proc, kill, startNodes } from "./processes.ts";

const skip = skipReason() ?? undefined;
if (skip) console.log(`# ${skip}`);
const procs: Proc[] = [];
let pg: PostgresServer | null = null;
after(async () => {
  for (const p of procs) await kill(p);
  await pg?.stop();
});

test("a fine-tune whose worker node is SIGKILLed resumes from its checkpoint on the other node and ends ACTIVE", { skip }, async (t) => {
  pg = await startPostgres();
  const database = await pg.newDatabase();
  const { apis, workers, key, admin } = await startNodes({ database, workers: ["n1", "n2"], importRoot: FIXTURES, procs });
  const c = new Client(apis[0]!.url, key);
  const op = new Client(apis[0]!.url, admin);

  const base = await c.base();
  const ftc = await c.cluster("FINE_TUNING");
  const units = ftc.units as Json[];
  assert.equal(units.length, 1);
  const holder = workers.find((n) => n.id === units[0].nodeId)!;
  const other = workers.find((n) => n !== holder)!;
  assert.ok(holder && other, `the unit sits on a worker node: ${JSON.stringify(units)}`);

  // 40 lines (32 train, 8 validation), batch 8: 4 steps an epoch; enough epochs to outlast the kill
  const EPOCHS = 30;
  const STEPS = 4 * EPOCHS;
  const m = await c.fineTune(base.id, ftc.id, { epochs: EPOCHS, every: 2 });
  const events = async () => ((await c.ok("GET", `/20231130/models/${m.id}/events?limit=1000`)).items as Json[]).map((e) => e.message);
  await waitFor(
    async () => (await events()).some((e) => e.includes(`node ${holder.id} claimed the job`)),
    "the holder claims the job",
    90_000,
  );
  // past step 3 a checkpoint (step 2) exists to resume from
  await waitFor(async () => (await c.maxStep(m.id)) >= 3, "step 3 on the holder", 90_000);
  await kill(holder);
  const before = await c.maxStep(m.id);
  assert.ok(before < STEPS, "the fine-tune was still running when its node died");

  const done = await c.state(`/20231130/models/${m.id}`, ["ACTIVE", "FAILED"], 100_000);
  assert.equal(done.lifecycleState, "ACTIVE", done.lifecycleDetails);
  assert.ok(Number.isFinite(done.modelMetrics?.finalLoss), `the model has its final loss: ${JSON.stringify(done.modelMetrics)}`);
  assert.ok(Number.isFinite(done.modelMetrics?.finalAccuracy), "and its final accuracy");

  const ev = await events();
  const said = (re: RegExp) =>
    assert.ok(
      ev.some((e) => re.test(e)),
      `${re}: ${JSON.stringify(ev, null, 1)}`,
    );
  said(new RegExp(`node ${holder.id} was lost; the fine-tune moves to node ${other.id}`));
  said(new RegExp(`node ${other.id} claimed the job`));
  const resumed = ev.map((e) => /resumed from step (\d+)/.exec(e)).find((x) => x);
  assert.ok(resumed && Number(resumed[1]) >= 2, `resumed from a checkpoint, not from step 0: ${JSON.stringify(ev, null, 1)}`);
  t.diagnostic(`killed at step ${before} of ${STEPS}; resumed from step ${resumed[1]}`);
  const steps = ((await c.ok("GET", `/20231130/models/${m.id}/metricsHistory`)).items as Json[]).map((p) => p.step as number);
  assert.deepEqual(
    steps,
    Array.from({ length: STEPS }, (_, i) => i + 1),
    "one point per step, the holder's and the other node's: none lost",
  );

  // the cluster's unit lives on the other node now, and the admin view says why the holder is gone
  const moved = await c.ok("GET", `/20231130/dedicatedAiClusters/${ftc.id}`);
  assert.deepEqual(
    (moved.units as Json[]).map((u) => u.nodeId),
    [other.id],
  );
  assert.equal(moved.lifecycleState, "ACTIVE");
  const lost = ((await op.ok("GET", "/20231130/admin/nodes")).items as Json[]).find((n) => n.id === holder.id);
  assert.match(lost?.lost?.reason ?? "", /no heartbeat since/);
  await waitFor(
    async () => (await c.ok("GET", `/20231130/workRequests?resourceId=${m.id}`)).items[0].status === "SUCCEEDED",
    "the work request SUCCEEDED",
  );
  await c.settled();
});
