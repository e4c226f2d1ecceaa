// NEEDS_ATTENTION over the HTTP API: a HOSTING cluster whose workers cannot be started is NEEDS_ATTENTION
// with the reason in lifecycleDetails (its endpoint FAILED); it is ACTIVE again once its workers start
// (an endpoint created again retries them) or an operator resizes it.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { HostingPool, PoolSpec } from "../../src/control/index.ts";
import { FakeFineTune, FakeHosting, until } from "../control/fakes.ts";
import { apiHarness, auth } from "./helpers.ts";

/** Hosting whose workers fail to start until `broken` is cleared. */
class FlakyHosting extends FakeHosting {
  broken = true;
  override async startPool(spec: PoolSpec): Promise<HostingPool> {
    if (this.broken) throw new Error("worker exited at start-up: out of memory");
    return super.startPool(spec);
  }
}

test("a cluster whose hosting units cannot start is NEEDS_ATTENTION with the reason, and ACTIVE once they start", async () => {
  const hosting = new FlakyHosting();
  const h = await apiHarness({ executors: { fineTune: new FakeFineTune(), hosting } });
  try {
    const app = h.svc.app;
    const call = async (method: "GET" | "POST" | "DELETE", url: string, payload?: object) => {
      const r = await app.inject({ method, url, headers: auth(h.keyA), ...(payload ? { payload } : {}) });
      return { status: r.statusCode, body: r.body ? r.json() : null };
    };
    const m = (
      await call("POST", "/20231130/models", {
        compartmentId: "compA",
        modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: "test/fixtures/models/tiny-llama" },
      })
    ).body;
    const c = (await call("POST", "/20231130/dedicatedAiClusters", { compartmentId: "compA", type: "HOSTING", unitCount: 1 })).body;
    await until(async () => (await call("GET", `/20231130/dedicatedAiClusters/${c.id}`)).body.lifecycleState === "ACTIVE", "cluster");
    const e1 = (await call("POST", "/20231130/endpoints", { compartmentId: "compA", modelId: m.id, dedicatedAiClusterId: c.id })).body;
    await until(async () => (await call("GET", `/20231130/endpoints/${e1.id}`)).body.lifecycleState === "FAILED", "endpoint FAILED");

    const sick = (await call("GET", `/20231130/dedicatedAiClusters/${c.id}`)).body;
    assert.equal(sick.lifecycleState, "NEEDS_ATTENTION");
    assert.match(sick.lifecycleDetails, /hosting units could not be started: worker exited at start-up: out of memory/);
    const listed = (await call("GET", `/20231130/dedicatedAiClusters?lifecycleState=NEEDS_ATTENTION`)).body.items;
    assert.deepEqual(
      listed.map((x: { id: string }) => x.id),
      [c.id],
      "the list filters on the state",
    );

    // the operator fixes the cause; deleting the failed endpoint and creating it again retries the units: the cluster is ACTIVE
    hosting.broken = false;
    assert.equal((await call("DELETE", `/20231130/endpoints/${e1.id}`)).status, 202);
    await until(async () => (await call("GET", `/20231130/endpoints/${e1.id}`)).body.lifecycleState === "DELETED", "endpoint deleted");
    const e2 = (await call("POST", "/20231130/endpoints", { compartmentId: "compA", modelId: m.id, dedicatedAiClusterId: c.id })).body;
    await until(async () => (await call("GET", `/20231130/endpoints/${e2.id}`)).body.lifecycleState === "ACTIVE", "endpoint ACTIVE");
    const well = (await call("GET", `/20231130/dedicatedAiClusters/${c.id}`)).body;
    assert.deepEqual([well.lifecycleState, well.lifecycleDetails], ["ACTIVE", null]);

    // units that fail again put it back; an operator's resize is the other way out (UPDATING → ACTIVE)
    hosting.broken = true;
    const e3 = (await call("POST", "/20231130/endpoints", { compartmentId: "compA", modelId: m.id, dedicatedAiClusterId: c.id })).body;
    await until(
      async () => (await call("GET", `/20231130/endpoints/${e3.id}`)).body.lifecycleState === "ACTIVE",
      "served by the running pool",
    );
    for (const id of [e2.id, e3.id]) {
      assert.equal((await call("DELETE", `/20231130/endpoints/${id}`)).status, 202);
      await until(async () => (await call("GET", `/20231130/endpoints/${id}`)).body.lifecycleState === "DELETED", "deleted");
    }
    const e4 = (await call("POST", "/20231130/endpoints", { compartmentId: "compA", modelId: m.id, dedicatedAiClusterId: c.id })).body;
    await until(async () => (await call("GET", `/20231130/endpoints/${e4.id}`)).body.lifecycleState === "FAILED", "endpoint FAILED again");
    assert.equal((await call("GET", `/20231130/dedicatedAiClusters/${c.id}`)).body.lifecycleState, "NEEDS_ATTENTION");
    const resized = await app.inject({
      method: "PUT",
      url: `/20231130/dedicatedAiClusters/${c.id}`,
      headers: auth(h.keyA),
      payload: { unitCount: 2 },
    });
    assert.equal(resized.statusCode, 200, resized.body);
    await until(
      async () => (await call("GET", `/20231130/dedicatedAiClusters/${c.id}`)).body.lifecycleState === "ACTIVE",
      "cluster ACTIVE",
    );
    assert.equal((await call("GET", `/20231130/dedicatedAiClusters/${c.id}`)).body.lifecycleDetails, null);
  } finally {
    await h.svc.close();
  }
});
