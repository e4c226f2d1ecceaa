// The lifecycle tables: legal transitions pass, illegal ones are assertions, final states have no exit.

import assert from "node:assert/strict";
import { test } from "node:test";
import { IllegalTransitionError, LIFECYCLES, canMove, isFinal, move } from "../../src/control/lifecycle.ts";
import { ClusterState, EndpointState, ModelState, WorkRequestStatus } from "../../src/control/resources.ts";
import { activeCluster, harness } from "./helpers.ts";

test("every state of every resource enum has a row", () => {
  for (const [kind, e] of [
    ["DedicatedAiCluster", ClusterState],
    ["Model", ModelState],
    ["Endpoint", EndpointState],
    ["WorkRequest", WorkRequestStatus],
  ] as const)
    assert.deepEqual(Object.keys(LIFECYCLES[kind]).sort(), [...e.options].sort(), kind);
  for (const [kind, table] of Object.entries(LIFECYCLES))
    for (const [from, tos] of Object.entries(table))
      for (const to of tos) assert.ok(to in table, `${kind}: ${from} → ${to} leads to an unknown state`);
});

test("legal transitions pass and illegal ones throw", () => {
  assert.equal(move("Endpoint", "e1", "ACTIVE", "UPDATING"), "UPDATING");
  assert.equal(move("Endpoint", "e1", "UPDATING", "INACTIVE"), "INACTIVE");
  assert.ok(canMove("Model", "CREATING", "ACTIVE"));
  assert.ok(canMove("Model", "ACTIVE", "ACTIVE"), "staying put is allowed");
  assert.throws(() => move("Endpoint", "e1", "DELETED", "ACTIVE"), IllegalTransitionError);
  assert.throws(() => move("Model", "m1", "ACTIVE", "CREATING"), /Model m1: ACTIVE → CREATING/);
  assert.throws(() => move("FineTuneJob", "m1", "SUCCEEDED", "RUNNING"), IllegalTransitionError);
});

test("DELETED, SUCCEEDED, FAILED work requests and finished jobs are final", () => {
  assert.ok(isFinal("Endpoint", "DELETED"));
  assert.ok(isFinal("WorkRequest", "SUCCEEDED"));
  assert.ok(isFinal("FineTuneJob", "CANCELED"));
  assert.ok(!isFinal("Endpoint", "FAILED"), "a FAILED endpoint can be deleted");
});

test("the control plane's store refuses a write that skips the lifecycle", async () => {
  const h = await harness();
  try {
    const c = await activeCluster(h, "HOSTING");
    const row = (await h.store.clusters.get(c.id))!.value;
    await assert.rejects(h.store.clusters.update({ ...row, lifecycleState: "CREATING" }), /DedicatedAiCluster .*: ACTIVE → CREATING/);
    await assert.rejects(h.store.clusters.insert({ ...row, id: "ocid1.x", lifecycleState: "DELETED" }), /cannot start in DELETED/);
    assert.equal((await h.store.clusters.get(c.id))!.value.lifecycleState, "ACTIVE", "nothing was written");
  } finally {
    await h.cp.close();
  }
});
