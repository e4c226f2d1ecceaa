// Capacity through the control plane (fake executors, a fake 2-core node, fake remote nodes in the
// registry): reserve on create, refuse clearly with nothing half-created, grow and shrink, release on
// delete, fine-tunes only on their cluster's units, hosting replicas on their units, repair at start-up,
// and the admin view.

import assert from "node:assert/strict";
import { test } from "node:test";
import { type LocalNodeSettings, ServiceError } from "../../src/control/index.ts";
import type { FakePool } from "./fakes.ts";
import { until } from "./fakes.ts";
import { A, B, TINY, activeCluster, harness, upload, waitEndpoint, waitModel } from "./helpers.ts";

const GiB = 1024 ** 3;
const TWO_CORES: LocalNodeSettings = { cores: [0, 1], memoryBytes: 8 * GiB, pinning: false, name: "two-core" };

async function refusal(f: () => unknown, re: RegExp): Promise<ServiceError> {
  let err: ServiceError | undefined;
  await assert.rejects(
    async () => f(),
    (e: unknown) => {
      err = e as ServiceError;
      return e instanceof ServiceError && e.status === 400 && e.code === "LimitExceeded" && re.test(e.message);
    },
  );
  return err!;
}

test("create reserves whole cores per unit; no room is a LimitExceeded naming shape, units and what is free, and nothing is created", async () => {
  const h = await harness({}, undefined, TWO_CORES);
  const hc = await activeCluster(h, "HOSTING");
  assert.deepEqual(hc.units, [{ unitIndex: 0, nodeId: "local", nodeName: "two-core", cores: [0], memoryBytes: 2 * GiB, pinned: false }]);
  const ftc = await activeCluster(h, "FINE_TUNING", B);
  assert.deepEqual(
    ftc.units!.map((u) => u.cores),
    [[1]],
  );
  const before = {
    clusters: await h.store.clusters.count(() => true),
    wrs: (await h.cp.listWorkRequests(A, { limit: 1000, sortBy: "timeCreated", sortOrder: "DESC" })).items.length,
  };
  const e = await refusal(
    async () => await h.cp.clusters.create(A, { compartmentId: "compA", type: "HOSTING", unitCount: 2 }),
    /no room for 2 units of SPRIG_CPU_SMALL \(1 core and 2 GiB each\)/,
  );
  assert.match(e.message, /node two-core has 0 of 2 cores free and 4 GiB of 8 GiB memory/);
  await refusal(
    async () => await h.cp.clusters.create(A, { compartmentId: "compA", type: "HOSTING", unitCount: 1, unitShape: "SPRIG_CPU_MEDIUM" }),
    /1 unit of SPRIG_CPU_MEDIUM \(2 cores and 4 GiB each\)/,
  );
  assert.equal(await h.store.clusters.count(() => true), before.clusters, "no cluster row");
  assert.equal(
    (await h.cp.listWorkRequests(A, { limit: 1000, sortBy: "timeCreated", sortOrder: "DESC" })).items.length,
    before.wrs,
    "no work request",
  );
  assert.equal((await h.store.nodes.reservations()).length, 2, "no reservation");

  // deleting frees the cores: the cluster that did not fit now does
  await h.cp.clusters.delete(B, ftc.id);
  await until(async () => (await h.cp.clusters.get(B, ftc.id)).value.lifecycleState === "DELETED", "deleted");
  assert.deepEqual((await h.cp.clusters.get(B, ftc.id)).value.units, [], "a DELETED cluster holds nothing");
  const again = await h.cp.clusters.create(A, { compartmentId: "compA", type: "FINE_TUNING", unitCount: 1 });
  assert.deepEqual(
    again.value.units!.map((u) => u.cores),
    [[1]],
  );
  await h.store.close();
});

test("resize: growing reserves (or is refused, unchanged), shrinking frees after the workers stop; the pool runs exactly the reserved units", async () => {
  const h = await harness({}, undefined, { ...TWO_CORES, cores: [0, 1, 2] });
  const base = await h.cp.models.create(A, { compartmentId: "compA", modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: TINY } });
  const hc = await activeCluster(h, "HOSTING");
  const ep = await h.cp.endpoints.create(A, { compartmentId: "compA", modelId: base.value.id, dedicatedAiClusterId: hc.id });
  await waitEndpoint(h, ep.value.id, "ACTIVE");
  const pool = h.hosting.pools.get(hc.id) as FakePool;
  assert.deepEqual(
    pool.units.map((u) => [u.index, u.cores, u.pin]),
    [[0, [0], false]],
  );

  const { etag } = await h.cp.clusters.get(A, hc.id);
  await h.cp.clusters.update(A, hc.id, { unitCount: 3 }, etag);
  await until(async () => (await h.cp.clusters.get(A, hc.id)).value.lifecycleState === "ACTIVE", "grown");
  assert.deepEqual(
    pool.units.map((u) => u.cores),
    [[0], [1], [2]],
  );

  const full = await h.cp.clusters.get(A, hc.id);
  await refusal(async () => await h.cp.clusters.update(A, hc.id, { unitCount: 4 }), /no room for 1 unit more of SPRIG_CPU_SMALL \(3 → 4\)/);
  const after = await h.cp.clusters.get(A, hc.id);
  assert.deepEqual(
    [after.value.unitCount, after.value.lifecycleState, after.etag],
    [3, "ACTIVE", full.etag],
    "a refused resize changes nothing",
  );

  await h.cp.clusters.update(A, hc.id, { unitCount: 1 });
  await until(async () => (await h.cp.clusters.get(A, hc.id)).value.lifecycleState === "ACTIVE", "shrunk");
  assert.deepEqual(
    pool.units.map((u) => u.index),
    [0],
  );
  assert.deepEqual(
    (await h.cp.clusters.get(A, hc.id)).value.units!.map((u) => u.cores),
    [[0]],
  );
  assert.equal((await h.store.nodes.reservations()).length, 1);
  await h.store.close();
});

test("fine-tunes run only on their cluster's reserved units, one job per unit; a unit in use cannot be shrunk away", async () => {
  const h = await harness({}, undefined, { ...TWO_CORES, cores: [4, 5, 6, 7] });
  const base = await h.cp.models.create(A, { compartmentId: "compA", modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: TINY } });
  await activeCluster(h, "HOSTING"); // takes core 4
  const ftc = await activeCluster(h, "FINE_TUNING", A, 2);
  assert.deepEqual(
    ftc.units!.map((u) => u.cores),
    [[5], [6]],
  );
  const ds = await upload(h);
  const d = { compartmentId: "compA", baseModelId: base.value.id, fineTuneDetails: { dedicatedAiClusterId: ftc.id, trainingDataset: ds } };
  h.ft.scripts = ["hold", "hold", "hold"];
  const jobs = [await h.cp.models.create(A, d), await h.cp.models.create(A, d), await h.cp.models.create(A, d)];
  await until(() => h.ft.holding === 2, "two jobs start");
  assert.deepEqual(
    h.ft.started.map((s) => [s.unit.index, s.unit.cores, s.threads]),
    [
      [0, [5], 1],
      [1, [6], 1],
    ],
  );
  await assert.rejects(
    async () => await h.cp.clusters.update(A, ftc.id, { unitCount: 1 }),
    (e: ServiceError) => e.status === 409 && /unit 1 of cluster .* runs a fine-tune/.test(e.message),
  );
  h.ft.release();
  await until(() => h.ft.holding === 1 && h.ft.started.length === 3, "the third job gets a freed unit");
  assert.ok([5, 6].includes(h.ft.started[2]!.unit.cores[0]!), "still inside the cluster's reservation");
  h.ft.release();
  for (const j of jobs) await waitModel(h, j.value.id, "ACTIVE");
  await h.store.close();
});

test("several nodes: a cluster spreads over them; the admin view lists nodes, what is free and which cluster holds what", async () => {
  const h = await harness({}, undefined, TWO_CORES);
  await h.store.nodes.upsert({
    id: "node-b",
    name: "b",
    cores: [0, 1, 2, 3],
    memoryBytes: 16 * GiB,
    accelerators: [],
    pinning: { enabled: true, reason: null },
  });
  const c = await h.cp.clusters.create(A, { compartmentId: "compA", type: "HOSTING", unitCount: 2, displayName: "spread" });
  assert.deepEqual(
    c.value.units!.map((u) => [u.nodeId, u.cores, u.pinned]),
    [
      ["local", [0], false],
      ["node-b", [0], true],
    ],
  );
  await assert.rejects(
    async () => await h.cp.capacityView(A),
    (e: ServiceError) => e.status === 404 && /admin API key/.test(e.message),
  );
  const view = await h.cp.capacityView({ compartments: [], admin: true });
  const local = view.nodes.find((n) => n.id === "local")!;
  assert.deepEqual([local.freeCores, local.freeMemoryBytes], [[1], 6 * GiB]);
  assert.deepEqual(
    local.units.map((u) => [u.clusterId, u.displayName, u.compartmentId, u.type, u.unitShape, u.unitIndex, u.cores]),
    [[c.value.id, "spread", "compA", "HOSTING", "SPRIG_CPU_SMALL", 0, [0]]],
  );
  assert.deepEqual(view.nodes.find((n) => n.id === "node-b")!.freeCores, [1, 2, 3]);
  await h.store.close();
});

test("restart: reservations are kept; when the node shrinks, units are placed again or the cluster says which do not run", async () => {
  const h = await harness({}, undefined, TWO_CORES);
  const c1 = await activeCluster(h, "HOSTING");
  const c2 = await activeCluster(h, "FINE_TUNING");
  await h.cp.close();
  await h.store.close();

  const same = await harness({}, h.dir, TWO_CORES);
  assert.deepEqual(
    (await same.cp.clusters.get(A, c2.id)).value.units!.map((u) => u.cores),
    [[1]],
    "kept across a restart",
  );
  // a fine-tune running on the second cluster when the server stops (it resumes at the next start)
  same.ft.scripts.push("hold");
  const base = await same.cp.models.create(A, {
    compartmentId: "compA",
    modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: TINY },
  });
  const m = await same.cp.models.create(A, {
    compartmentId: "compA",
    baseModelId: base.value.id,
    fineTuneDetails: { dedicatedAiClusterId: c2.id, trainingDataset: await upload(same) },
  });
  await until(() => same.ft.holding === 1, "the fine-tune to start");
  await same.cp.close();
  await same.store.close();

  // the operator narrows the node to one core: the first cluster keeps core 0, the second has no room
  const narrow = await harness({}, h.dir, { ...TWO_CORES, cores: [0] });
  assert.deepEqual(
    (await narrow.cp.clusters.get(A, c1.id)).value.units!.map((u) => u.cores),
    [[0]],
  );
  const lost = (await narrow.cp.clusters.get(A, c2.id)).value;
  assert.deepEqual(lost.units, []);
  assert.equal(lost.lifecycleState, "NEEDS_ATTENTION");
  assert.match(lost.lifecycleDetails!, /1 of 1 units have no reserved cores and do not run: unitCount: no room/);
  // new work is refused with the reason; queued fine-tunes wait rather than run outside a reservation
  await assert.rejects(
    narrow.cp.models.create(A, {
      compartmentId: "compA",
      baseModelId: base.value.id,
      fineTuneDetails: { dedicatedAiClusterId: c2.id, trainingDataset: await upload(narrow) },
    }),
    /is NEEDS_ATTENTION; it must be ACTIVE \(1 of 1 units have no reserved cores/,
  );
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(narrow.ft.started.length, 0);
  assert.equal((await narrow.cp.models.get(A, m.value.id)).value.lifecycleState, "CREATING");
  // deleting the first cluster frees core 0; at the next start the second is placed again and its note goes
  await narrow.cp.close();
  await narrow.store.close();
  const wide = await harness({}, h.dir, TWO_CORES);
  const back = (await wide.cp.clusters.get(A, c2.id)).value;
  assert.equal(back.units!.length, 1);
  assert.equal(back.lifecycleState, "ACTIVE");
  assert.equal(back.lifecycleDetails, null);
  await waitModel(wide, m.value.id, "ACTIVE");
  await wide.store.close();
});
