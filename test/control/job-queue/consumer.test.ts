// The queue path of fine-tunes with in-process fakes (SQLite store, FakeQueue, FakeFineTune): the control
// plane queues a run for the unit's node, that node's consumer runs it; a job that comes back while its run
// goes on joins it; a held run lock holds the job back; cancels reach the node; jobs an earlier consumer
// left active are retried; the re-queue hook of a lost node drops or fails what cannot move.

import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ControlPlane, type SprigStore, requeueJobsOfNode, startFineTuneConsumer } from "../../../src/control/index.ts";
import { QueuedFineTune } from "../../../src/control/job-queue/index.ts";
import { Store } from "../../../src/store/index.ts";
import { FakeFineTune, FakeHosting, until } from "../fakes.ts";
import { A, FAKE_NODE, type Harness, IMPORT_ROOTS, TINY, activeCluster, upload, waitModel } from "../helpers.ts";
import { FakeQueue } from "./fake-queue.ts";

async function queued(): Promise<Harness & { queue: FakeQueue }> {
  const dir = mkdtempSync(join(tmpdir(), "sprig-queue-"));
  const store = (await Store.open(dir)) as SprigStore;
  const queue = new FakeQueue();
  const cp = new ControlPlane({
    store,
    fineTune: new QueuedFineTune(queue, { pollMs: 10, cancelGraceMs: 2000 }),
    hosting: new FakeHosting(),
    config: { modelImportRoots: IMPORT_ROOTS },
    node: FAKE_NODE,
  });
  await cp.start();
  return { dir, store, cp, ft: new FakeFineTune(), hosting: new FakeHosting(), queue };
}

async function fineTune(h: Harness): Promise<string> {
  const base = await h.cp.models.create(A, { compartmentId: "compA", modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: TINY } });
  const ftc = await activeCluster(h, "FINE_TUNING");
  const m = await h.cp.models.create(A, {
    compartmentId: "compA",
    baseModelId: base.value.id,
    fineTuneDetails: { dedicatedAiClusterId: ftc.id, trainingDataset: await upload(h) },
  });
  return m.value.id;
}

const consume = (h: Harness & { queue: FakeQueue }, nodeId = "local") =>
  startFineTuneConsumer({ store: h.store, queue: h.queue, nodeId, executor: h.ft, pollMs: 10 });

const events = async (h: Harness, id: string) => (await h.store.fineTunes.events(id, 1000, 0)).items.map((e) => e.message);

test("a fine-tune is queued for the node holding its unit and runs there, not elsewhere", async () => {
  const h = await queued();
  const other = await consume(h, "other-node");
  const local = await consume(h);
  try {
    const id = await fineTune(h);
    const m = await waitModel(h, id, "ACTIVE");
    assert.equal(m.modelMetrics?.finalLoss, 0.25);
    assert.equal(h.ft.started.length, 1, "one run");
    assert.deepEqual(
      h.queue.jobs.map((j) => [j.queue, j.state]),
      [["fine-tune.local", "completed"]],
    );
    assert.deepEqual(
      (await h.store.fineTunes.metrics(id)).map((p) => p.step),
      [1, 2, 3, 4],
      "the node recorded the progress",
    );
    assert.ok((await events(h, id)).some((e) => /node local claimed the job/.test(e)));
  } finally {
    await h.cp.close();
    await other.stop();
    await local.stop();
    await h.store.close();
  }
});

test("a job that expires and comes back while its run goes on joins that run: the worker starts once", async () => {
  const h = await queued();
  h.ft.scripts = ["hold"];
  const c = await consume(h);
  try {
    const id = await fineTune(h);
    await until(() => h.ft.holding === 1, "the run holds");
    h.queue.expire(id);
    // claimed again by the same node: it joins the run rather than start a second one
    await until(() => h.queue.jobs[0]!.state === "active", "the retried job is claimed");
    assert.equal(h.ft.started.length, 1);
    h.ft.release();
    await waitModel(h, id, "ACTIVE");
    assert.equal(h.ft.started.length, 1, "one run in all");
  } finally {
    await h.cp.close();
    await c.stop();
    await h.store.close();
  }
});

test("while another session holds a fine-tune's run lock, its job waits and starts only once the lock is free", async () => {
  const h = await queued();
  const id = await fineTune(h);
  await until(() => h.queue.jobs.length === 1, "the job is queued");
  h.queue.locks.add(id);
  const c = await consume(h);
  try {
    await until(async () => (await events(h, id)).some((e) => /earlier run of this fine-tune is still going/.test(e)), "the wait note");
    assert.equal(h.ft.started.length, 0, "no second run while the lock is held");
    h.queue.locks.delete(id);
    await waitModel(h, id, "ACTIVE");
    assert.equal(h.ft.started.length, 1);
  } finally {
    await h.cp.close();
    await c.stop();
    await h.store.close();
  }
});

test("a cancel reaches the run on the node; the model ends FAILED (canceled) and its work request CANCELED", async () => {
  const h = await queued();
  h.ft.scripts = ["hold"];
  const c = await consume(h);
  try {
    const id = await fineTune(h);
    await until(() => h.ft.holding === 1, "the run holds");
    await h.cp.fineTunes.cancel(id);
    const m = await waitModel(h, id, "FAILED");
    assert.equal(m.lifecycleDetails, "canceled by request");
    assert.equal((await h.store.fineTunes.job(id))?.state, "CANCELED");
    assert.deepEqual(c.running(), [], "the node's run stopped");
  } finally {
    await h.cp.close();
    await c.stop();
    await h.store.close();
  }
});

test("a job an earlier consumer of the node left active (it crashed) is retried at once by the next one", async () => {
  const h = await queued();
  const id = await fineTune(h);
  await until(() => h.queue.jobs.length === 1, "the job is queued");
  // claimed by a consumer that died with it: active, and nobody holds its run lock
  await h.queue.claim("local", 1);
  const c = await consume(h);
  try {
    await waitModel(h, id, "ACTIVE");
    assert.equal(h.ft.started.length, 1);
    assert.equal(h.queue.jobs[0]!.retries, 1, "it came back through a retry");
  } finally {
    await h.cp.close();
    await c.stop();
    await h.store.close();
  }
});

test("the re-queue hook of a lost node fails a job whose cluster has no unit elsewhere, and drops one that no longer runs", async () => {
  const h = await queued();
  try {
    const id = await fineTune(h);
    await until(() => h.queue.jobs.length === 1, "the job is queued");
    // no consumer: the job waits on the embedded node's queue, and the cluster's only unit is there
    const r = await requeueJobsOfNode("local", { store: h.store, queue: h.queue });
    assert.deepEqual(r.moved, []);
    assert.equal(r.failed[0]?.modelId, id);
    assert.match(r.failed[0]!.reason, /no unit on another node/);
    assert.equal(h.queue.jobs[0]!.state, "failed", "failed for good: a retry would come back on the lost node");
    // the control plane reads the failure as a crash and queues the fine-tune again (attempt 2)
    await until(() => h.queue.jobs.length === 2, "queued again");
    await until(async () => (await h.store.fineTunes.job(id))?.attempts === 2, "attempt 2");
    await h.cp.fineTunes.cancel(id);
    await waitModel(h, id, "FAILED");
    const again = await requeueJobsOfNode("local", { store: h.store, queue: h.queue });
    assert.deepEqual(again.dropped, [id], "the canceled fine-tune's job is dropped");
    assert.equal(h.queue.jobs[1]!.state, "failed");
  } finally {
    await h.cp.close();
    await h.store.close();
  }
});
