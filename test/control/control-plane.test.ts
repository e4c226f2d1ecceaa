// Control plane rules and state machines, with fake executors: clusters, fine-tunes, endpoints,
// isolation, etags, inference gating, and recovery after a restart.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ServiceError, type InferenceSampling } from "../../src/control/index.ts";
import { until } from "./fakes.ts";
import { A, B, OTHER_BASE, TINY, activeCluster, harness, upload, waitEndpoint, waitModel } from "./helpers.ts";

const SAMPLING: InferenceSampling = {
  maxTokens: 8,
  temperature: 0,
  topP: 1,
  topK: 0,
  seed: 0,
  stop: [],
  frequencyPenalty: 0,
  presencePenalty: 0,
};

async function rejects(f: () => unknown, status: number, re: RegExp): Promise<void> {
  await assert.rejects(
    async () => f(),
    (e: unknown) => e instanceof ServiceError && e.status === status && re.test(e.message),
  );
}

test("clusters: CREATING → ACTIVE with a SUCCEEDED work request; hosting capacity; resize; another compartment sees 404", async () => {
  const h = await harness({ endpointCapacityPerCluster: 7 });
  const created = await h.cp.clusters.create(A, { compartmentId: "compA", type: "HOSTING", unitCount: 2 });
  assert.equal(created.value.lifecycleState, "CREATING");
  assert.equal(created.value.unitShape, "SPRIG_CPU_SMALL");
  assert.deepEqual(created.value.capacity, { capacityType: "HOSTING_CAPACITY", totalEndpointCapacity: 7, usedEndpointCapacity: 0 });
  const c = await activeCluster(h, "HOSTING");
  const wr = await h.cp.getWorkRequest(A, created.workRequestId!);
  assert.equal(wr.operationType, "CREATE_DEDICATED_AI_CLUSTER");
  assert.equal((await h.cp.getWorkRequest(A, created.workRequestId!)).status, "SUCCEEDED");
  assert.equal(wr.resources[0]!.entityUri, `/20231130/dedicatedAiClusters/${created.value.id}`);
  await rejects(async () => await h.cp.clusters.get(B, c.id), 404, /does not exist or is not in a compartment/);
  await rejects(
    async () => await h.cp.clusters.create(A, { compartmentId: "compB", type: "HOSTING", unitCount: 1 }),
    404,
    /compartment compB/,
  );
  const { etag } = await h.cp.clusters.get(A, c.id);
  await rejects(async () => await h.cp.clusters.update(A, c.id, { displayName: "x" }, "stale"), 412, /If-Match/);
  const u = await h.cp.clusters.update(A, c.id, { unitCount: 3 }, etag);
  assert.equal(u.value.lifecycleState, "UPDATING");
  await until(async () => (await h.cp.clusters.get(A, c.id)).value.lifecycleState === "ACTIVE", "resize");
  assert.equal((await h.cp.clusters.get(A, c.id)).value.unitCount, 3);
  await h.store.close();
});

test("fine-tune: needs an ACTIVE FINE_TUNING cluster and visible data; succeeds with metrics, history and events", async () => {
  const h = await harness();
  const base = await h.cp.models.create(A, { compartmentId: "compA", modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: TINY } });
  assert.equal(base.value.type, "BASE");
  assert.deepEqual(base.value.capabilities, ["TEXT_GENERATION", "CHAT", "FINE_TUNE"]);
  const hosting = await activeCluster(h, "HOSTING");
  const ftc = await activeCluster(h, "FINE_TUNING");
  const ds = await upload(h);
  const details = (clusterId: string, trainingDataset = ds) => ({
    compartmentId: "compA",
    baseModelId: base.value.id,
    fineTuneDetails: { dedicatedAiClusterId: clusterId, trainingDataset },
  });
  await assert.rejects(
    h.cp.models.create(A, details(hosting.id)),
    (e: ServiceError) => e.status === 409 && /needs a FINE_TUNING cluster/.test(e.message),
  );
  await assert.rejects(
    h.cp.models.create(A, details(ftc.id, { ...ds, objectName: "nope" })),
    (e: ServiceError) => e.status === 404 && /trainingDataset/.test(e.message),
  );
  await assert.rejects(
    h.cp.models.create(A, { compartmentId: "compA", fineTuneDetails: details(ftc.id).fineTuneDetails }),
    (e: ServiceError) => e.status === 400 && /baseModelId/.test(e.message),
  );
  const m = await h.cp.models.create(A, details(ftc.id));
  assert.equal(m.value.lifecycleState, "CREATING");
  assert.equal(m.value.fineTuneDetails?.trainingConfig?.trainingConfigType, "TFEW_TRAINING_CONFIG");
  const done = await waitModel(h, m.value.id, "ACTIVE");
  assert.deepEqual(done.modelMetrics, { modelMetricsType: "TEXT_GENERATION_MODEL_METRICS", finalAccuracy: 0.5, finalLoss: 0.25 });
  assert.equal(done.rootBaseModelId, base.value.id);
  assert.equal(done.artifactType, "ADAPTER");
  assert.equal(h.ft.started[0]!.method, "tfew");
  const wr = await h.cp.getWorkRequest(A, m.workRequestId!);
  assert.deepEqual([wr.status, wr.percentComplete, wr.resources[0]!.actionType], ["SUCCEEDED", 100, "CREATED"]);
  assert.deepEqual(
    (await h.cp.fineTuneMetrics(A, m.value.id)).map((p) => p.step),
    [1, 2, 3, 4],
  );
  assert.ok(
    (await h.cp.fineTuneEvents(A, m.value.id, { limit: 100, sortBy: "timeCreated", sortOrder: "DESC" })).items.some((e) =>
      /succeeded/.test(e.message),
    ),
  );
  // a custom model can be the base of another fine-tune: it starts from the parent's adapter
  const child = await h.cp.models.create(A, { ...details(ftc.id), baseModelId: m.value.id });
  await waitModel(h, child.value.id, "ACTIVE");
  assert.equal(h.ft.started[1]!.initAdapterDir, done.artifactPath);
  await assert.rejects(
    h.cp.models.create(A, {
      ...details(ftc.id),
      baseModelId: m.value.id,
      fineTuneDetails: { ...details(ftc.id).fineTuneDetails, trainingConfig: { trainingConfigType: "VANILLA_TRAINING_CONFIG" } },
    }),
    (e: ServiceError) => e.status === 400 && /vanilla fine-tuning needs a BASE/.test(e.message),
  );
  await rejects(async () => await h.cp.models.delete(A, base.value.id), 409, /base of 1 other model/);
  await h.store.close();
});

test("fine-tune: bad data fails with line-numbered work request errors; crashes resume, then fail; cancel", async () => {
  const h = await harness({ maxFineTuneAttempts: 2 });
  const base = await h.cp.models.create(A, { compartmentId: "compA", modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: TINY } });
  const ftc = await activeCluster(h, "FINE_TUNING");
  const ds = await upload(h);
  const d = { compartmentId: "compA", baseModelId: base.value.id, fineTuneDetails: { dedicatedAiClusterId: ftc.id, trainingDataset: ds } };

  h.ft.scripts = ["bad-data"];
  const bad = await h.cp.models.create(A, d);
  const failed = await waitModel(h, bad.value.id, "FAILED");
  assert.match(failed.lifecycleDetails!, /2 bad line/);
  const errs = (await h.cp.workRequestErrors(A, bad.workRequestId!, { limit: 100, sortBy: "timeCreated", sortOrder: "DESC" })).items;
  assert.deepEqual(
    errs.map((e) => e.message),
    ["line 2: not JSON", "line 5: missing completion"],
  );
  assert.equal((await h.cp.getWorkRequest(A, bad.workRequestId!)).status, "FAILED");

  h.ft.scripts = ["crash", "succeed"];
  const resumed = await h.cp.models.create(A, d);
  await waitModel(h, resumed.value.id, "ACTIVE");
  assert.equal((await h.store.fineTunes.job(resumed.value.id))!.attempts, 2);

  h.ft.scripts = ["crash", "crash"];
  const dead = await h.cp.models.create(A, d);
  assert.match((await waitModel(h, dead.value.id, "FAILED")).lifecycleDetails!, /killed.*gave up after 2 attempts/);

  h.ft.scripts = ["hold"];
  const held = await h.cp.models.create(A, d);
  await until(() => h.ft.started.length === 6, "job started");
  await rejects(async () => await h.cp.clusters.delete(A, ftc.id), 409, /fine-tune job/);
  await h.cp.cancelWorkRequest(A, held.workRequestId!);
  assert.match((await waitModel(h, held.value.id, "FAILED")).lifecycleDetails!, /canceled/);
  assert.equal((await h.cp.getWorkRequest(A, held.workRequestId!)).status, "CANCELED");
  await h.store.close();
});

test("fine-tune jobs queue per cluster: at most unitCount run at once", async () => {
  const h = await harness();
  const base = await h.cp.models.create(A, { compartmentId: "compA", modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: TINY } });
  const ftc = await activeCluster(h, "FINE_TUNING");
  const ds = await upload(h);
  h.ft.scripts = ["hold", "hold"];
  const d = { compartmentId: "compA", baseModelId: base.value.id, fineTuneDetails: { dedicatedAiClusterId: ftc.id, trainingDataset: ds } };
  const m1 = await h.cp.models.create(A, d);
  const m2 = await h.cp.models.create(A, d);
  await until(() => h.ft.started.length === 1, "first job");
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(h.ft.started.length, 1, "the second job waits for the unit");
  h.ft.release();
  await waitModel(h, m1.value.id, "ACTIVE");
  await until(() => h.ft.started.length === 2, "second job");
  h.ft.release();
  await waitModel(h, m2.value.id, "ACTIVE");
  await h.store.close();
});

test("endpoints: one base per hosting cluster, capacity, deactivate/activate gate inference, delete rules", async () => {
  const h = await harness({ endpointCapacityPerCluster: 2 });
  const base = (await h.cp.models.create(A, { compartmentId: "compA", modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: TINY } }))
    .value;
  const other = (
    await h.cp.models.create(A, { compartmentId: "compA", modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: OTHER_BASE } })
  ).value;
  const hc = await activeCluster(h, "HOSTING");
  const e1 = await h.cp.endpoints.create(A, {
    compartmentId: "compA",
    modelId: base.id,
    dedicatedAiClusterId: hc.id,
    displayName: "base-ep",
  });
  assert.equal(e1.value.lifecycleState, "CREATING");
  await waitEndpoint(h, e1.value.id, "ACTIVE");
  assert.equal((await h.cp.clusters.get(A, hc.id)).value.baseModelId, base.id);
  await rejects(
    async () => await h.cp.endpoints.create(A, { compartmentId: "compA", modelId: other.id, dedicatedAiClusterId: hc.id }),
    409,
    /hosts base model .* derives from/,
  );
  const e2 = await h.cp.endpoints.create(A, { compartmentId: "compA", modelId: base.id, dedicatedAiClusterId: hc.id });
  await rejects(
    async () => await h.cp.endpoints.create(A, { compartmentId: "compA", modelId: base.id, dedicatedAiClusterId: hc.id }),
    409,
    /is full \(2 of 2/,
  );
  assert.deepEqual((await h.cp.clusters.get(A, hc.id)).value.capacity, {
    capacityType: "HOSTING_CAPACITY",
    totalEndpointCapacity: 2,
    usedEndpointCapacity: 2,
  });
  await rejects(async () => await h.cp.clusters.delete(A, hc.id), 409, /still has 2 endpoint/);
  await rejects(async () => await h.cp.models.delete(A, base.id), 409, /served by 2 endpoint/);
  await waitEndpoint(h, e2.value.id, "ACTIVE");

  const r = await h.cp.inference.generate(A, { endpoint: "base-ep", prompt: { kind: "text", text: "hi there" }, sampling: SAMPLING });
  assert.equal(r.result.text, "echo hi there");
  await assert.rejects(
    h.cp.inference.generate(B, { endpoint: e1.value.id, prompt: { kind: "text", text: "x" }, sampling: SAMPLING }),
    (e: ServiceError) => e.status === 404,
  );

  await h.cp.endpoints.deactivate(A, e1.value.id);
  await waitEndpoint(h, e1.value.id, "INACTIVE");
  await assert.rejects(
    h.cp.inference.generate(A, { endpoint: e1.value.id, prompt: { kind: "text", text: "x" }, sampling: SAMPLING }),
    (e: ServiceError) => e.status === 409 && /INACTIVE: activate it/.test(e.message),
  );
  assert.equal(
    (await h.cp.inference.generate(A, { endpoint: e2.value.id, prompt: { kind: "text", text: "x" }, sampling: SAMPLING })).result.text,
    "echo x",
    "the other endpoint is still served",
  );
  await rejects(async () => await h.cp.endpoints.deactivate(A, e1.value.id), 409, /is INACTIVE; deactivate needs it ACTIVE/);
  await h.cp.endpoints.activate(A, e1.value.id);
  await waitEndpoint(h, e1.value.id, "ACTIVE");
  assert.equal(
    (await h.cp.inference.generate(A, { endpoint: e1.value.id, prompt: { kind: "text", text: "y" }, sampling: SAMPLING })).result.text,
    "echo y",
  );

  assert.equal(h.cp.inference.usage.get(e1.value.id).generations, 2, "e1 (base-ep) served two generations");
  assert.equal(h.cp.inference.usage.get(e1.value.id).refusedRequests, 1, "and refused one while INACTIVE");
  await h.cp.endpoints.delete(A, e1.value.id);
  await h.cp.endpoints.delete(A, e2.value.id);
  await waitEndpoint(h, e2.value.id, "DELETED");
  await waitEndpoint(h, e1.value.id, "DELETED");
  assert.equal(h.cp.inference.usage.size, 0, "deleted endpoints' usage counters are dropped");
  await until(async () => (await h.cp.clusters.get(A, hc.id)).value.baseModelId === null, "cluster freed");
  assert.ok(h.hosting.pools.get(hc.id)!.closed, "an empty cluster's pool is closed");
  // an empty cluster may host another base model
  const e3 = await h.cp.endpoints.create(A, { compartmentId: "compA", modelId: other.id, dedicatedAiClusterId: hc.id });
  await waitEndpoint(h, e3.value.id, "ACTIVE");
  await h.store.close();
});

test("restart: resources are kept, ACTIVE endpoints come back, INACTIVE stay, a running fine-tune resumes", async () => {
  const h = await harness();
  const base = (await h.cp.models.create(A, { compartmentId: "compA", modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: TINY } }))
    .value;
  const hc = await activeCluster(h, "HOSTING");
  const ftc = await activeCluster(h, "FINE_TUNING");
  const e1 = await h.cp.endpoints.create(A, { compartmentId: "compA", modelId: base.id, dedicatedAiClusterId: hc.id });
  const e2 = await h.cp.endpoints.create(A, { compartmentId: "compA", modelId: base.id, dedicatedAiClusterId: hc.id });
  await waitEndpoint(h, e1.value.id, "ACTIVE");
  await waitEndpoint(h, e2.value.id, "ACTIVE");
  await h.cp.endpoints.deactivate(A, e2.value.id);
  await waitEndpoint(h, e2.value.id, "INACTIVE");
  h.ft.scripts = ["hold"];
  const ds = await upload(h);
  const m = await h.cp.models.create(A, {
    compartmentId: "compA",
    baseModelId: base.id,
    fineTuneDetails: { dedicatedAiClusterId: ftc.id, trainingDataset: ds },
  });
  await until(() => h.ft.started.length === 1, "job running");
  // a crash: the process is gone without closing anything
  await h.store.close();

  const h2 = await harness({}, h.dir);
  await waitEndpoint(h2, e1.value.id, "ACTIVE");
  assert.equal((await h2.cp.endpoints.get(A, e2.value.id)).value.lifecycleState, "INACTIVE");
  assert.deepEqual([...h2.hosting.pools.get(hc.id)!.active.keys()], [e1.value.id]);
  assert.equal(
    (await h2.cp.inference.generate(A, { endpoint: e1.value.id, prompt: { kind: "text", text: "z" }, sampling: SAMPLING })).result.text,
    "echo z",
  );
  await until(() => h2.ft.started.length === 1, "job resumed");
  assert.equal(h2.ft.started[0]!.jobId, m.value.id);
  const done = await waitModel(h2, m.value.id, "ACTIVE");
  assert.equal(done.modelMetrics?.finalLoss, 0.25);
  assert.equal((await h2.store.fineTunes.job(m.value.id))!.attempts, 2);
  await h2.store.close();
});

test("listing paginates with page tokens and filters; bad tokens are 400", async () => {
  const h = await harness();
  for (let i = 0; i < 5; i++)
    await h.cp.clusters.create(A, { compartmentId: "compA", type: "FINE_TUNING", unitCount: 1, displayName: `c${i}` });
  await h.cp.clusters.create(B, { compartmentId: "compB", type: "FINE_TUNING", unitCount: 1 });
  const q = { limit: 2, sortBy: "displayName" as const, sortOrder: "ASC" as const };
  const p1 = await h.cp.clusters.list(A, q);
  const p2 = await h.cp.clusters.list(A, { ...q, page: p1.nextPage });
  const p3 = await h.cp.clusters.list(A, { ...q, page: p2.nextPage });
  assert.deepEqual(
    [...p1.items, ...p2.items, ...p3.items].map((c) => c.displayName),
    ["c0", "c1", "c2", "c3", "c4"],
  );
  assert.equal(p3.nextPage, undefined);
  await rejects(async () => await h.cp.clusters.list(A, { ...q, page: "garbage" }), 400, /page/);
  await rejects(async () => await h.cp.clusters.list(A, { ...q, compartmentId: "compB" }), 404, /compartment compB/);
  assert.equal((await h.cp.clusters.list(A, { ...q, limit: 100, displayName: "c3" })).items.length, 1);
  await until(
    async () => (await h.cp.clusters.list(A, { ...q, limit: 100, lifecycleState: "ACTIVE" })).items.length === 5,
    "clusters ACTIVE",
  );
  await until(
    async () => (await h.cp.clusters.list(B, { ...q, limit: 100, lifecycleState: "ACTIVE" })).items.length === 1,
    "clusters ACTIVE",
  );
  await h.store.close();
});

test("the default base model is registered once, visible to every compartment, and cannot be deleted", async () => {
  const h = await harness({ defaultBaseModelDir: TINY });
  const all = (await h.cp.models.list(A, { limit: 100, sortBy: "timeCreated", sortOrder: "DESC" })).items;
  assert.equal(all.length, 1);
  assert.equal(all[0]!.compartmentId, null);
  assert.equal((await h.cp.models.list(B, { limit: 100, sortBy: "timeCreated", sortOrder: "DESC" })).items[0]!.id, all[0]!.id);
  await rejects(async () => await h.cp.models.delete(A, all[0]!.id), 404, /model/);
  await h.store.close();
  const h2 = await harness({ defaultBaseModelDir: TINY }, h.dir);
  assert.equal(
    (await h2.cp.models.list(A, { limit: 100, sortBy: "timeCreated", sortOrder: "DESC" })).items.length,
    1,
    "not registered twice",
  );
  await h2.store.close();
});
