// Change…Compartment over the HTTP API: clusters, models and endpoints move with a MOVE_* work request in
// the target compartment; the key must hold both compartments; serving goes on; refusals say why (a
// resource mid-change, a model of no compartment, a stale If-Match, an unknown field).

import assert from "node:assert/strict";
import { resolve } from "node:path";
import { test } from "node:test";
import { apiHarness, auth, hostedEndpoint } from "./helpers.ts";

test("changeCompartment moves clusters, models and endpoints with MOVE_* work requests; both compartments must be the key's", async () => {
  const h = await apiHarness();
  try {
    const app = h.svc.app;
    const keyAB = (await h.svc.store.apiKeys.create(["compA", "compB"])).key;
    const { endpointId, modelId, clusterId } = await hostedEndpoint(h);
    const call = async (key: string, method: "GET" | "POST", url: string, payload?: object, headers: Record<string, string> = {}) => {
      const r = await app.inject({ method, url, headers: { ...auth(key), ...headers }, ...(payload ? { payload } : {}) });
      return { status: r.statusCode, body: r.body ? r.json() : null, headers: r.headers };
    };
    const move = (key: string, path: string, compartmentId: string, headers?: Record<string, string>) =>
      call(key, "POST", `/20231130/${path}/actions/changeCompartment`, { compartmentId }, headers);

    // a key that lacks the target compartment cannot move there (as if it did not exist)
    const denied = await move(h.keyA, `dedicatedAiClusters/${clusterId}`, "compB");
    assert.equal(denied.status, 404);
    assert.match(denied.body.message, /compartment compB does not exist or is not in a compartment this key may use/);
    // nor can a key that does not see the resource
    assert.equal((await move(h.keyB, `dedicatedAiClusters/${clusterId}`, "compB")).status, 404);

    // the cluster moves: a MOVE_DEDICATED_AI_CLUSTER work request, in the target compartment
    const moved = await move(keyAB, `dedicatedAiClusters/${clusterId}`, "compB");
    assert.equal(moved.status, 202, JSON.stringify(moved.body));
    const wrId = String(moved.headers["opc-work-request-id"]);
    const wr = (await call(h.keyB, "GET", `/20231130/workRequests/${wrId}`)).body;
    assert.deepEqual(
      [wr.operationType, wr.status, wr.compartmentId, wr.resources[0].entityType, wr.resources[0].identifier, wr.resources[0].actionType],
      ["MOVE_DEDICATED_AI_CLUSTER", "SUCCEEDED", "compB", "DedicatedAiCluster", clusterId, "UPDATED"],
    );
    const logs = (await call(h.keyB, "GET", `/20231130/workRequests/${wrId}/logs`)).body.items;
    assert.match(logs.at(-1).message, /moved from compartment compA to compB/);
    assert.equal((await call(h.keyA, "GET", `/20231130/dedicatedAiClusters/${clusterId}`)).status, 404, "gone from compA");
    const c = (await call(h.keyB, "GET", `/20231130/dedicatedAiClusters/${clusterId}`)).body;
    assert.deepEqual([c.compartmentId, c.lifecycleState], ["compB", "ACTIVE"]);
    // its endpoint stays in compA and still serves
    const gen = async (key: string) =>
      call(key, "POST", "/20231130/actions/generateText", {
        compartmentId: key === h.keyA ? "compA" : "compB",
        servingMode: { servingType: "DEDICATED", endpointId },
        inferenceRequest: { runtimeType: "LLAMA", prompt: "hi", maxTokens: 2 },
      });
    assert.equal((await gen(h.keyA)).status, 200);

    // the endpoint and the model move too
    assert.equal((await move(keyAB, `endpoints/${endpointId}`, "compB")).status, 202);
    assert.equal((await gen(h.keyB)).status, 200, "compB's key serves through it now");
    assert.equal((await gen(h.keyA)).status, 404, "compA's does not");
    const em = await move(keyAB, `models/${modelId}`, "compB");
    assert.equal(em.status, 202);
    const mwr = (await call(h.keyB, "GET", `/20231130/workRequests/${em.headers["opc-work-request-id"]}`)).body;
    assert.equal(mwr.operationType, "MOVE_MODEL");
    assert.equal((await call(h.keyB, "GET", `/20231130/models/${modelId}`)).body.compartmentId, "compB");
    const ewrs = (await call(h.keyB, "GET", `/20231130/workRequests?operationType=MOVE_ENDPOINT`)).body.items;
    assert.equal(ewrs.length, 1);

    // moving to where it is: a work request that says so
    const same = await move(keyAB, `endpoints/${endpointId}`, "compB");
    assert.equal(same.status, 202);
    const swr = same.headers["opc-work-request-id"];
    assert.match(
      (await call(h.keyB, "GET", `/20231130/workRequests/${swr}/logs`)).body.items.at(-1).message,
      /already in compartment compB/,
    );

    // refusals
    const stale = await move(keyAB, `endpoints/${endpointId}`, "compA", { "if-match": "not-the-etag" });
    assert.equal(stale.status, 412);
    const unknown = await call(keyAB, "POST", `/20231130/endpoints/${endpointId}/actions/changeCompartment`, {
      compartmentId: "compA",
      x: 1,
    });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.message, /x/);
    const missing = await call(keyAB, "POST", `/20231130/endpoints/${endpointId}/actions/changeCompartment`);
    assert.equal(missing.status, 400, "the body is required");
    const row = (await h.svc.store.endpoints.get(endpointId))!;
    await h.svc.store.endpoints.update({ ...row.value, lifecycleState: "UPDATING" });
    const busy = await move(keyAB, `endpoints/${endpointId}`, "compA");
    assert.equal(busy.status, 409);
    assert.match(busy.body.message, /is UPDATING; it can move once it is settled/);
    await h.svc.store.endpoints.update({ ...(await h.svc.store.endpoints.get(endpointId))!.value, lifecycleState: "ACTIVE" });
    const global = await h.svc.control.models.registerBase(resolve("test/fixtures/models/tiny-llama"), null, { displayName: "everyone's" });
    const none = await move(keyAB, `models/${global.id}`, "compA");
    assert.equal(none.status, 409);
    assert.match(none.body.message, /belongs to no compartment/);

    // a retry with the same opc-retry-token is the same move, not a second one
    const t1 = await move(keyAB, `endpoints/${endpointId}`, "compA", { "opc-retry-token": "mv-1" });
    const t2 = await move(keyAB, `endpoints/${endpointId}`, "compA", { "opc-retry-token": "mv-1" });
    assert.equal(t1.status, 202);
    assert.equal(t2.headers["opc-work-request-id"], t1.headers["opc-work-request-id"]);
  } finally {
    await h.svc.close();
  }
});
