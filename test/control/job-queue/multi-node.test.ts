// Fine-tunes across nodes, for real: PostgreSQL, the API's control plane in this process, and two node
// consumers (node-a, node-b) as separate processes sharing one artifact directory. A fine-tune queued for
// node-a checkpoints; node-a's consumer is SIGKILLed; the cluster's reservation moves to node-b; the
// re-queue hook sends the job there, and node-b resumes from the checkpoint and the model ends ACTIVE.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { startService } from "../../../src/api/service.ts";
import { requeueJobsOfNode } from "../../../src/control/index.ts";
import type { SprigStore } from "../../../src/control/index.ts";
import { Client, FIXTURES, waitFor } from "../../faults/helpers.ts";
import { type PostgresServer, skipReason, startPostgres } from "../../store/postgres-server.ts";

const skip = skipReason() ?? undefined;
if (skip) console.log(`# ${skip}`);

const children: ChildProcess[] = [];
let server: Promise<PostgresServer> | null = null;
const newDatabase = async () => (await (server ??= startPostgres())).newDatabase();
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  if (server) await (await server).stop();
});

/** A node consumer process, niced; resolves once it consumes. */
function consumer(url: string, nodeId: string, dataDir: string): Promise<ChildProcess> {
  const child = spawn(
    "nice",
    ["-n", "19", process.execPath, "--import", "tsx", join(import.meta.dirname, "consumer-process.ts"), url, nodeId, dataDir],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  children.push(child);
  let out = "";
  child.stderr!.on("data", (d: Buffer) => void (out += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("ready")) resolve(child);
    });
    child.once("exit", (code) => reject(new Error(`consumer ${nodeId} exited (${code}): ${out}`)));
  });
}

/** Move every unit of a cluster onto one node's core 0 (what the node-loss handler's re-placement does). */
async function moveCluster(store: SprigStore, clusterId: string, nodeId: string): Promise<void> {
  await store.tx(async () => {
    const units = await store.nodes.reservations({ clusterId });
    await store.nodes.release(clusterId);
    await store.nodes.reserve(units.map((u) => ({ ...u, nodeId, cores: [0] })));
  });
}

test("a fine-tune of a lost node resumes from its checkpoint on the node that takes its cluster", { skip }, async () => {
  const url = await newDatabase();
  const dir = mkdtempSync(join(tmpdir(), "sprig-mqueue-"));
  const svc = await startService({
    dataDir: join(dir, "api"),
    database: url,
    control: { modelImportRoots: [FIXTURES] },
    server: { rateLimit: { perSecond: 1000, burst: 4000 } },
  });
  try {
    const c = new Client(await svc.listen(0), (await svc.store.apiKeys.create(["compA"])).key);
    for (const id of ["node-a", "node-b"])
      await svc.store.nodes.upsert({
        id,
        name: id,
        cores: [0],
        memoryBytes: 8 * 1024 ** 3,
        accelerators: [],
        pinning: { enabled: false, reason: "test nodes share one machine" },
      });
    const [a, b] = await Promise.all([consumer(url, "node-a", join(dir, "a")), consumer(url, "node-b", join(dir, "b"))]);
    const base = await c.base();
    const ftc = await c.cluster("FINE_TUNING");
    await moveCluster(svc.store, ftc.id, "node-a");
    const m = await c.fineTune(base.id, ftc.id, { epochs: 4, every: 2 });

    const events = async () => (await svc.store.fineTunes.events(m.id, 1000, 0)).items.map((e) => e.message);
    await waitFor(async () => (await events()).some((e) => /node node-a claimed/.test(e)), "node-a claims the job", 90_000);
    // a checkpoint is written every 2 steps: past step 3 there is one to resume from
    await waitFor(async () => (await c.maxStep(m.id)) >= 3, "step 3 on node-a", 90_000);
    a.kill("SIGKILL");
    await new Promise((res) => a.once("exit", res));
    const before = await c.maxStep(m.id);

    await moveCluster(svc.store, ftc.id, "node-b");
    const r = await requeueJobsOfNode("node-a", { store: svc.store });
    assert.deepEqual(
      r.moved.map((x) => [x.modelId, x.toNode]),
      [[m.id, "node-b"]],
    );
    assert.deepEqual(
      await requeueJobsOfNode("node-a", { store: svc.store }),
      { moved: [], failed: [], dropped: [] },
      "a second call finds nothing",
    );

    const done = await c.state(`/20231130/models/${m.id}`, ["ACTIVE", "FAILED"], 120_000);
    assert.equal(done.lifecycleState, "ACTIVE", done.lifecycleDetails);
    assert.ok(Number.isFinite(done.modelMetrics.finalLoss), "the model has its final loss");
    const ev = await events();
    assert.ok(
      ev.some((e) => /node node-b claimed/.test(e)),
      JSON.stringify(ev),
    );
    const resumed = ev.map((e) => /resumed from step (\d+)/.exec(e)).find((x) => x);
    assert.ok(resumed && Number(resumed[1]) >= 2, `node-b resumed from a checkpoint, not from step 0: ${JSON.stringify(ev)}`);
    const steps = (await svc.store.fineTunes.metrics(m.id)).map((p) => p.step);
    assert.equal(steps[0], 1, "the history from node-a is kept");
    assert.ok(Math.max(...steps) > before, "node-b carried the step count on");
    assert.deepEqual(
      steps,
      Array.from({ length: steps.length }, (_, i) => i + 1),
      "one point per step, none lost",
    );
    // the model turns ACTIVE just before its work request finishes
    await waitFor(
      async () => (await c.ok("GET", `/20231130/workRequests?resourceId=${m.id}`)).items[0].status === "SUCCEEDED",
      "the work request SUCCEEDED",
    );
    await c.settled();
    b.kill("SIGTERM");
    await new Promise((res) => b.once("exit", res));
  } finally {
    await svc.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("one server on PostgreSQL queues its fine-tunes and runs them itself, on its embedded node", { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "sprig-mqueue-one-"));
  const svc = await startService({ dataDir: dir, database: await newDatabase(), control: { modelImportRoots: [FIXTURES] } });
  try {
    const c = new Client(await svc.listen(0), (await svc.store.apiKeys.create(["compA"])).key);
    const base = await c.base();
    const ftc = await c.cluster("FINE_TUNING");
    const m = await c.fineTune(base.id, ftc.id, { epochs: 1 });
    const done = await c.state(`/20231130/models/${m.id}`, ["ACTIVE", "FAILED"], 120_000);
    assert.equal(done.lifecycleState, "ACTIVE", done.lifecycleDetails);
    const ev = (await svc.store.fineTunes.events(m.id, 1000, 0)).items.map((e) => e.message);
    assert.ok(ev.some((e) => /queued for node local/.test(e)) && ev.some((e) => /node local claimed the job/.test(e)), JSON.stringify(ev));
    assert.ok((await svc.store.fineTunes.metrics(m.id)).length > 0, "with its metrics history");
  } finally {
    await svc.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
