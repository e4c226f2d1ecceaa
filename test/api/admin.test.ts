// Capacity over HTTP: a cluster shows where its units run, a request beyond capacity is a 400
// LimitExceeded in OCI's error shape, and the admin view answers admin keys only.

import assert from "node:assert/strict";
import { test } from "node:test";
import { apiHarness, auth } from "./helpers.ts";

const GiB = 1024 ** 3;

test("GET cluster shows its units; no room is a 400 LimitExceeded; the admin view needs an admin key", async () => {
  const h = await apiHarness({ node: { cores: [0, 1], memoryBytes: 8 * GiB, pinning: false, name: "box" } });
  const app = h.svc.app;
  const admin = (await h.svc.store.apiKeys.create([], "ops", { admin: true })).key;
  try {
    const post = (payload: object) => app.inject({ method: "POST", url: "/20231130/dedicatedAiClusters", headers: auth(h.keyA), payload });
    const c = (await post({ compartmentId: "compA", type: "HOSTING", unitCount: 2, displayName: "serving" })).json();
    const got = (await app.inject({ method: "GET", url: `/20231130/dedicatedAiClusters/${c.id}`, headers: auth(h.keyA) })).json();
    assert.deepEqual(
      got.units.map((u: { nodeName: string; cores: number[]; memoryBytes: number }) => [u.nodeName, u.cores, u.memoryBytes]),
      [
        ["box", [0], 2 * GiB],
        ["box", [1], 2 * GiB],
      ],
    );

    const full = await post({ compartmentId: "compA", type: "FINE_TUNING", unitCount: 1 });
    assert.equal(full.statusCode, 400);
    assert.equal(full.json().code, "LimitExceeded");
    assert.match(full.json().message, /no room for 1 unit of SPRIG_CPU_SMALL .*node box has 0 of 2 cores free/);

    const denied = await app.inject({ method: "GET", url: "/20231130/admin/nodes", headers: auth(h.keyA) });
    assert.equal(denied.statusCode, 404);
    assert.match(denied.json().message, /admin API key/);
    const view = await app.inject({ method: "GET", url: "/20231130/admin/nodes", headers: auth(admin) });
    assert.equal(view.statusCode, 200);
    const [node] = view.json().items;
    assert.deepEqual([node.id, node.cores, node.freeCores, node.units.length], ["local", [0, 1], [], 2]);
    assert.deepEqual(
      node.units.map((u: { clusterId: string; displayName: string; compartmentId: string }) => [
        u.clusterId,
        u.displayName,
        u.compartmentId,
      ]),
      [
        [c.id, "serving", "compA"],
        [c.id, "serving", "compA"],
      ],
    );
    // an admin key without compartments sees no tenant's resources through the normal API
    assert.equal((await app.inject({ method: "GET", url: "/20231130/dedicatedAiClusters", headers: auth(admin) })).json().items.length, 0);
  } finally {
    await h.svc.close();
  }
});
