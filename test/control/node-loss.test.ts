// Node loss on an API node, with in-process fakes (fake hosting pools, nodes registered in a SQLite store):
// the rules (who is live, who to declare lost, which units lack a node), then the monitor — a silent node is
// declared lost exactly once, its units move to a live node with room in one transaction, the running pool
// follows (the endpoint keeps serving), the hooks hear of it; with no room the cluster is NEEDS_ATTENTION
// with the reason, and becomes ACTIVE once a node with room registers.

import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  ControlPlane,
  type InferenceSampling,
  NO_NODE,
  type NodeLossHooks,
  type SprigStore,
  isLive,
  missingUnits,
  nodesToDeclareLost,
  sameUnits,
} from "../../src/control/index.ts";
import { Store } from "../../src/store/index.ts";
import { BACKENDS } from "../store/backends.ts";
import { FakeFineTune, FakeHosting, type FakePool, until } from "./fakes.ts";
import { ExecutorError, type HostingPool, type PoolSpec } from "../../src/control/index.ts";
import { A, IMPORT_ROOTS, TINY, waitEndpoint, waitModel } from "./helpers.ts";

const GiB = 1024 ** 3;
const SAMPLING: InferenceSampling = {
  maxTokens: 8,
  temperature: 0,
  topP: 1,
  topK: 0,
  seed: 1,
  stop: [],
  frequencyPenalty: 0,
  presencePenalty: 0,
};
const T0 = Date.parse("2026-01-01T00:00:00.000Z");

test("rules: live within the timeout and not lost; declare only the silent ones not yet lost; units without a reservation", () => {
  const at = (ms: number) => new Date(T0 + ms).toISOString();
  assert.equal(isLive({ timeHeartbeat: at(0), lost: null }, T0 + 15_000, 15_000), true);
  assert.equal(isLive({ timeHeartbeat: at(0), lost: null }, T0 + 15_001, 15_000), false);
  assert.equal(isLive({ timeHeartbeat: at(0), lost: { time: at(1), reason: "x" } }, T0, 15_000), false);
  const nodes = [
    { id: "fresh", timeHeartbeat: at(10_000), lost: null },
    { id: "silent", timeHeartbeat: at(0), lost: null },
    { id: "already", timeHeartbeat: at(0), lost: { time: at(1), reason: "earlier" } },
  ];
  assert.deepEqual(
    nodesToDeclareLost(nodes, T0 + 20_000, 15_000).map((n) => n.id),
    ["silent"],
  );
  assert.deepEqual(
    missingUnits({ id: "c", unitCount: 3 }, [
      { clusterId: "c", unitIndex: 1 },
      { clusterId: "other", unitIndex: 0 },
    ]),
    [0, 2],
  );
  const u = (index: number, nodeId: string, cores: number[]) => ({ index, nodeId, cores, memoryBytes: GiB, pin: false });
  assert.equal(sameUnits([u(0, "a", [0]), u(1, "b", [1])], [u(1, "b", [1]), u(0, "a", [0])]), true);
  assert.equal(sameUnits([u(0, "a", [0])], [u(0, "b", [0])]), false);
});

interface ApiNode {
  store: SprigStore;
  cp: ControlPlane;
  hosting: FakeHosting;
  lostCalls: string[];
  requeued: string[];
}

/** An API node on `dir`'s store with fake executors; the loss check runs only when the test calls tick(). */
async function apiNode(dir: string, o: { database?: string; hosting?: FakeHosting } = {}): Promise<ApiNode> {
  const store = (await Store.open(dir, o.database === undefined ? {} : { database: o.database })) as SprigStore;
  const hosting = o.hosting ?? new FakeHosting();
  const lostCalls: string[] = [];
  const requeued: string[] = [];
  const hooks: NodeLossHooks = {
    nodeLost: (id) => void lostCalls.push(id),
    requeueJobsOfNode: async (id) => void requeued.push(id),
    runningUnits: (id) => hosting.pools.get(id)?.units ?? null,
  };
  const cp = new ControlPlane({
    store,
    fineTune: new FakeFineTune(),
    hosting,
    config: { modelImportRoots: IMPORT_ROOTS },
    multiNode: { settings: { nodeTimeoutMs: 15_000, checkIntervalMs: 600_000 }, hooks },
  });
  await cp.start();
  return { store, cp, hosting, lostCalls, requeued };
}

const worker = (store: SprigStore, id: string, cores: number[]) =>
  store.nodes.upsert({
    id,
    name: id,
    cores,
    memoryBytes: 8 * GiB,
    accelerators: [],
    pinning: { enabled: false, reason: "test" },
    address: `http://${id}.invalid`,
  });

/** The node's last heartbeat a minute ago: past any timeout. */
const silence = (store: SprigStore, id: string) =>
  store.db.run("UPDATE nodes SET time_heartbeat = ? WHERE id = ?", [new Date(Date.now() - 60_000).toISOString(), id]);

async function hostedEndpoint(n: ApiNode) {
  const base = await n.cp.models.create(A, { compartmentId: "compA", modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: TINY } });
  await waitModel({ cp: n.cp } as never, base.value.id, "ACTIVE");
  const c = await n.cp.clusters.create(A, { compartmentId: "compA", type: "HOSTING", unitCount: 1 });
  await until(async () => (await n.cp.clusters.get(A, c.value.id)).value.lifecycleState === "ACTIVE", "cluster ACTIVE");
  const ep = await n.cp.endpoints.create(A, { compartmentId: "compA", modelId: base.value.id, dedicatedAiClusterId: c.value.id });
  await waitEndpoint({ cp: n.cp } as never, ep.value.id, "ACTIVE");
  return { clusterId: c.value.id, endpointId: ep.value.id, baseId: base.value.id };
}

for (const backend of BACKENDS) {
  test(
    `${backend.name}: a silent node is declared lost once, by one of two API nodes; its units move to a live node and the endpoint serves from there`,
    { skip: backend.skip },
    async () => {
      const db = await backend.options();
      const one = await apiNode(mkdtempSync(join(tmpdir(), "sprig-loss-")), db);
      // SQLite: the second API node shares the file; PostgreSQL: the database
      const two = await apiNode(
        db.database === undefined ? one.store.paths.database.replace(/\/sprig\.db$/, "") : mkdtempSync(join(tmpdir(), "sprig-loss-")),
        db,
      );
      await worker(one.store, "n1", [0]);
      const { clusterId, endpointId } = await hostedEndpoint(one);
      assert.deepEqual(
        (await one.store.nodes.reservations({ clusterId })).map((r) => r.nodeId),
        ["n1"],
      );
      await worker(one.store, "n2", [0, 1]);

      // n1 stops heartbeating; both API nodes check (at once on PostgreSQL; one SQLite file takes one writer at a time)
      await silence(one.store, "n1");
      const [r1, r2] =
        backend.name === "postgres"
          ? await Promise.all([one.cp.nodeLoss!.tick(), two.cp.nodeLoss!.tick()])
          : [await two.cp.nodeLoss!.tick(), await one.cp.nodeLoss!.tick()].reverse();
      assert.deepEqual([...r1!.lost, ...r2!.lost], ["n1"], "exactly one API node declares n1 lost");
      const n1 = await one.store.nodes.get("n1");
      assert.match(n1?.lost?.reason ?? "", /no heartbeat since .* \(timeout 15 s\)/);
      assert.deepEqual(
        (await one.store.nodes.reservations({ clusterId })).map((r) => [r.nodeId, r.cores]),
        [["n2", [0]]],
      );
      // the API node that runs the pool moved it; the hooks heard of the loss there
      const pool = one.hosting.pools.get(clusterId) as FakePool;
      assert.deepEqual(
        pool.units.map((u) => u.nodeId),
        ["n2"],
      );
      assert.deepEqual(r1!.lost.length ? one.lostCalls : two.lostCalls, ["n1"]);
      assert.deepEqual(r1!.lost.length ? one.requeued : two.requeued, ["n1"]);
      const r = await one.cp.inference.generate(A, { endpoint: endpointId, prompt: { kind: "text", text: "hi" }, sampling: SAMPLING });
      assert.equal(r.result.text, "echo hi");
      assert.equal((await one.cp.endpoints.get(A, endpointId)).value.lifecycleState, "ACTIVE");
      assert.equal((await one.cp.clusters.get(A, clusterId)).value.lifecycleState, "ACTIVE");

      // a later check declares nothing again; a lost node that comes back registers afresh and is live
      assert.deepEqual((await one.cp.nodeLoss!.tick()).lost, []);
      await worker(one.store, "n1", [0]);
      assert.equal((await one.store.nodes.get("n1"))?.lost ?? null, null);
      await Promise.all([one.cp.close(), two.cp.close()]);
      await one.store.close();
      await two.store.close();
    },
  );
}

test("no room on any live node: the cluster is NEEDS_ATTENTION with the reason; a node with room joins and it is ACTIVE again", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sprig-loss-"));
  const n = await apiNode(dir);
  await worker(n.store, "n1", [0]);
  const { clusterId, endpointId } = await hostedEndpoint(n);
  await worker(n.store, "n2", [0]);
  // n2's one core is taken by another cluster
  const other = await n.cp.clusters.create(A, { compartmentId: "compA", type: "HOSTING", unitCount: 1 });
  assert.deepEqual(
    (await n.store.nodes.reservations({ clusterId: other.value.id })).map((r) => r.nodeId),
    ["n2"],
  );

  await silence(n.store, "n1");
  const r = await n.cp.nodeLoss!.tick();
  assert.deepEqual(r.lost, ["n1"]);
  assert.equal(r.short[0]?.clusterId, clusterId);
  const c = (await n.cp.clusters.get(A, clusterId)).value;
  assert.equal(c.lifecycleState, "NEEDS_ATTENTION");
  assert.ok(c.lifecycleDetails?.includes(NO_NODE), c.lifecycleDetails ?? "");
  assert.match(c.lifecycleDetails ?? "", /node n2 has 0 of 1 cores free/);
  assert.deepEqual(await n.store.nodes.reservations({ clusterId }), []);
  // the pool runs no unit: requests are refused with a 503 to retry, not sent to the lost node
  assert.deepEqual((n.hosting.pools.get(clusterId) as FakePool).units, []);

  await worker(n.store, "n3", [0, 1]);
  const again = await n.cp.nodeLoss!.tick();
  assert.deepEqual(again.lost, []);
  assert.deepEqual(again.moved, [clusterId]);
  assert.deepEqual(
    (await n.store.nodes.reservations({ clusterId })).map((x) => x.nodeId),
    ["n3"],
  );
  const back = (await n.cp.clusters.get(A, clusterId)).value;
  assert.equal(back.lifecycleState, "ACTIVE");
  assert.equal(back.lifecycleDetails ?? null, null);
  assert.equal((await n.cp.endpoints.get(A, endpointId)).value.lifecycleState, "ACTIVE");
  await n.cp.close();
  await n.store.close();
});

const hi = { prompt: { kind: "text" as const, text: "hi" }, sampling: SAMPLING };

test("two API nodes: either serves an endpoint the other created (attached on its first request); activation state is the store's", async () => {
  const one = await apiNode(mkdtempSync(join(tmpdir(), "sprig-api2-")));
  const two = await apiNode(one.store.paths.database.replace(/\/sprig\.db$/, ""));
  await worker(one.store, "n1", [0]);
  const { clusterId, endpointId } = await hostedEndpoint(one);
  assert.equal(two.hosting.pools.get(clusterId), undefined, "the second API node has no pool yet");
  const r = await two.cp.inference.generate(A, { endpoint: endpointId, ...hi });
  assert.equal(r.result.text, "echo hi");
  const pool = two.hosting.pools.get(clusterId) as FakePool;
  assert.deepEqual([...pool.active.keys()], [endpointId], "attached: the pool set up here, the endpoint activated in it");
  assert.deepEqual(
    pool.units.map((u) => u.nodeId),
    ["n1"],
  );

  // deactivated through the first API node: the second refuses it at once (its own pool still has it loaded)
  await one.cp.endpoints.deactivate(A, endpointId);
  await waitEndpoint({ cp: one.cp } as never, endpointId, "INACTIVE");
  await assert.rejects(two.cp.inference.generate(A, { endpoint: endpointId, ...hi }), (e: { status: number; message: string }) => {
    assert.equal(e.status, 409);
    assert.match(e.message, /INACTIVE: activate it/);
    return true;
  });
  await two.cp.endpoints.activate(A, endpointId);
  await waitEndpoint({ cp: two.cp } as never, endpointId, "ACTIVE");
  assert.equal((await one.cp.inference.generate(A, { endpoint: endpointId, ...hi })).result.text, "echo hi");
  // a restarted API node leaves ACTIVE endpoints ACTIVE (the others serve them) instead of reloading them
  await two.cp.close();
  const three = new ControlPlane({ store: two.store, fineTune: new FakeFineTune(), hosting: new FakeHosting(), multiNode: {} });
  await three.start();
  assert.equal((await one.cp.endpoints.get(A, endpointId)).value.lifecycleState, "ACTIVE");
  assert.equal((await three.inference.generate(A, { endpoint: endpointId, ...hi })).result.text, "echo hi");
  await Promise.all([one.cp.close(), three.close()]);
  await one.store.close();
  await two.store.close();
});

/** Hosting whose first pool start fails as if its worker node went away mid-load. */
class DyingNodeHosting extends FakeHosting {
  failures = 1;
  override async startPool(spec: PoolSpec): Promise<HostingPool> {
    if (this.failures-- > 0)
      throw new ExecutorError(`node ${spec.units[0]?.nodeId} cannot be reached (ECONNREFUSED)`, 503, "node_unreachable");
    return super.startPool(spec);
  }
}

test("a first load on a node that goes away is tried again once the units are placed elsewhere, not FAILED", async () => {
  const hosting = new DyingNodeHosting();
  const n = await apiNode(mkdtempSync(join(tmpdir(), "sprig-dying-")), { hosting });
  await worker(n.store, "n1", [0]);
  const { endpointId, clusterId } = await hostedEndpoint(n);
  assert.equal(hosting.failures, -1, "the first start failed, the retry succeeded");
  assert.equal((await n.cp.endpoints.get(A, endpointId)).value.lifecycleState, "ACTIVE");
  assert.equal((await n.cp.clusters.get(A, clusterId)).value.lifecycleState, "ACTIVE", "no operator needed");
  assert.equal((await n.cp.inference.generate(A, { endpoint: endpointId, ...hi })).result.text, "echo hi");
  await n.cp.close();
  await n.store.close();
});
