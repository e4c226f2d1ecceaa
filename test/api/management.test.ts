// The management API in-process (fastify.inject): auth, validation, isolation, pagination, etags,
// request ids, rate limits, the OpenAPI document and metrics.

import assert from "node:assert/strict";
import { test } from "node:test";
import { until } from "../control/fakes.ts";
import { apiHarness, auth } from "./helpers.ts";

const TINY = "test/fixtures/models/tiny-llama";

test("auth: no key or a bad key is 401 with an OCI error body; public routes need none", async () => {
  const h = await apiHarness();
  const r = await h.svc.app.inject({ method: "GET", url: "/20231130/dedicatedAiClusters" });
  assert.equal(r.statusCode, 401);
  assert.equal(r.json().code, "NotAuthenticated");
  assert.ok(r.headers["opc-request-id"]);
  assert.equal((await h.svc.app.inject({ method: "GET", url: "/20231130/models", headers: auth("sprig_nope") })).statusCode, 401);
  const v1 = await h.svc.app.inject({ method: "GET", url: "/v1/models" });
  assert.equal(v1.statusCode, 401);
  assert.equal(v1.json().error.type, "authentication_error");
  assert.equal((await h.svc.app.inject({ method: "GET", url: "/health" })).statusCode, 200);
  await h.svc.close();
});

test("validation: 400s name the field; unknown fields are rejected; bad JSON and big bodies are refused", async () => {
  const h = await apiHarness({ server: { bodyLimit: 2048 } });
  const post = (payload: unknown) =>
    h.svc.app.inject({ method: "POST", url: "/20231130/dedicatedAiClusters", headers: auth(h.keyA), payload: payload as object });
  let r = await post({ compartmentId: "compA", type: "HOSTING", unitCount: "two" });
  assert.equal(r.statusCode, 400);
  assert.match(r.json().message, /body\.unitCount: .*number/);
  r = await post({ compartmentId: "compA", type: "HOSTING", unitCount: 1, colour: "red" });
  assert.match(r.json().message, /body\.colour: unknown field/);
  r = await post({ compartmentId: "compA", type: "GPU", unitCount: 1 });
  assert.match(r.json().message, /body\.type: /);
  r = await post({ compartmentId: "compA", type: "HOSTING", unitCount: 1, unitShape: "HUGE" });
  assert.match(r.json().message, /body\.unitShape/);
  r = await h.svc.app.inject({
    method: "POST",
    url: "/20231130/dedicatedAiClusters",
    headers: { ...auth(h.keyA), "content-type": "application/json" },
    payload: "{nope",
  });
  assert.equal(r.statusCode, 400);
  r = await post({ compartmentId: "compA", type: "HOSTING", unitCount: 1, description: "x".repeat(4000) });
  assert.equal(r.statusCode, 413);
  r = await h.svc.app.inject({ method: "GET", url: "/20231130/models?limit=0", headers: auth(h.keyA) });
  assert.match(r.json().message, /query\.limit/);
  r = await h.svc.app.inject({ method: "GET", url: "/20231130/models?bogus=1", headers: auth(h.keyA) });
  assert.match(r.json().message, /query\.bogus: unknown field/);
  await h.svc.close();
});

test("clusters over HTTP: create with etag and work request, isolation (404), If-Match, pagination, delete", async () => {
  const h = await apiHarness();
  const app = h.svc.app;
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await app.inject({
      method: "POST",
      url: "/20231130/dedicatedAiClusters",
      headers: { ...auth(h.keyA), "opc-request-id": `req-${i}` },
      payload: { compartmentId: "compA", type: "FINE_TUNING", unitCount: 1, displayName: `ft${i}` },
    });
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers["opc-request-id"], `req-${i}`);
    assert.ok(r.headers.etag);
    assert.match(String(r.headers["opc-work-request-id"]), /^ocid1\.generativeaiworkrequest\.sprig\.\./);
    assert.match(r.json().id, /^ocid1\.generativeaidedicatedaicluster\.sprig\.\./);
    ids.push(r.json().id);
  }
  const id = ids[0]!;
  assert.equal((await app.inject({ method: "GET", url: `/20231130/dedicatedAiClusters/${id}`, headers: auth(h.keyB) })).statusCode, 404);
  assert.equal((await app.inject({ method: "DELETE", url: `/20231130/dedicatedAiClusters/${id}`, headers: auth(h.keyB) })).statusCode, 404);
  assert.deepEqual((await app.inject({ method: "GET", url: "/20231130/dedicatedAiClusters", headers: auth(h.keyB) })).json(), {
    items: [],
  });
  const p1 = await app.inject({
    method: "GET",
    url: "/20231130/dedicatedAiClusters?limit=2&sortBy=displayName&sortOrder=ASC",
    headers: auth(h.keyA),
  });
  assert.deepEqual(
    p1.json().items.map((c: { displayName: string }) => c.displayName),
    ["ft0", "ft1"],
  );
  const next = p1.headers["opc-next-page"] as string;
  const p2 = await app.inject({
    method: "GET",
    url: `/20231130/dedicatedAiClusters?limit=2&sortBy=displayName&sortOrder=ASC&page=${next}`,
    headers: auth(h.keyA),
  });
  assert.deepEqual(
    p2.json().items.map((c: { displayName: string }) => c.displayName),
    ["ft2"],
  );
  assert.equal(p2.headers["opc-next-page"], undefined);
  await until(
    async () =>
      (await app.inject({ method: "GET", url: `/20231130/dedicatedAiClusters/${id}`, headers: auth(h.keyA) })).json().lifecycleState ===
      "ACTIVE",
    "ACTIVE",
  );
  const got = await app.inject({ method: "GET", url: `/20231130/dedicatedAiClusters/${id}`, headers: auth(h.keyA) });
  const stale = await app.inject({
    method: "PUT",
    url: `/20231130/dedicatedAiClusters/${id}`,
    headers: { ...auth(h.keyA), "if-match": "old" },
    payload: { displayName: "renamed" },
  });
  assert.equal(stale.statusCode, 412);
  assert.equal(stale.json().code, "PreconditionFailed");
  const ok = await app.inject({
    method: "PUT",
    url: `/20231130/dedicatedAiClusters/${id}`,
    headers: { ...auth(h.keyA), "if-match": got.headers.etag as string },
    payload: { displayName: "renamed" },
  });
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.json().displayName, "renamed");
  const del = await app.inject({
    method: "DELETE",
    url: `/20231130/dedicatedAiClusters/${id}`,
    headers: { ...auth(h.keyA), "if-match": got.headers.etag as string },
  });
  assert.equal(del.statusCode, 412, "the etag changed with the update");
  const del2 = await app.inject({ method: "DELETE", url: `/20231130/dedicatedAiClusters/${id}`, headers: auth(h.keyA) });
  assert.equal(del2.statusCode, 202);
  const wr = del2.headers["opc-work-request-id"] as string;
  await until(
    async () =>
      (await app.inject({ method: "GET", url: `/20231130/workRequests/${wr}`, headers: auth(h.keyA) })).json().status === "SUCCEEDED",
    "deleted",
  );
  assert.equal(
    (await app.inject({ method: "GET", url: `/20231130/dedicatedAiClusters/${id}`, headers: auth(h.keyA) })).json().lifecycleState,
    "DELETED",
  );
  const logs = await app.inject({ method: "GET", url: `/20231130/workRequests/${wr}/logs`, headers: auth(h.keyA) });
  assert.ok(logs.json().items.length >= 1);
  assert.equal((await app.inject({ method: "GET", url: `/20231130/workRequests/${wr}`, headers: auth(h.keyB) })).statusCode, 404);
  await h.svc.close();
});

test("rate limits answer 429 with Retry-After once a key's burst is spent", async () => {
  const h = await apiHarness({ server: { rateLimit: { perSecond: 0.001, burst: 3 } } });
  const codes: number[] = [];
  for (let i = 0; i < 5; i++)
    codes.push((await h.svc.app.inject({ method: "GET", url: "/20231130/models", headers: auth(h.keyA) })).statusCode);
  assert.deepEqual(codes, [200, 200, 200, 429, 429]);
  const r = await h.svc.app.inject({ method: "GET", url: "/20231130/models", headers: auth(h.keyA) });
  assert.equal(r.headers["retry-after"], "1");
  assert.equal(r.json().code, "TooManyRequests");
  assert.equal(
    (await h.svc.app.inject({ method: "GET", url: "/20231130/models", headers: auth(h.keyB) })).statusCode,
    200,
    "other keys are not affected",
  );
  await h.svc.close();
});

test("models: register a BASE model; a bad directory is a 400 naming the field", async () => {
  const h = await apiHarness();
  const bad = await h.svc.app.inject({
    method: "POST",
    url: "/20231130/models",
    headers: auth(h.keyA),
    payload: { compartmentId: "compA", modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: "/nonexistent" } },
  });
  assert.equal(bad.statusCode, 400);
  assert.match(bad.json().message, /modelSource\.path/);
  const r = await h.svc.app.inject({
    method: "POST",
    url: "/20231130/models",
    headers: auth(h.keyA),
    payload: { compartmentId: "compA", modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: TINY }, displayName: "tiny" },
  });
  assert.equal(r.statusCode, 200);
  assert.deepEqual([r.json().type, r.json().lifecycleState, r.json().architecture], ["BASE", "ACTIVE", "llama"]);
  await h.svc.close();
});

test("the OpenAPI document covers every route and reuses the request schemas; metrics are exposed", async () => {
  const h = await apiHarness();
  const doc = (await h.svc.app.inject({ method: "GET", url: "/openapi.json" })).json();
  assert.equal(doc.openapi, "3.1.0");
  for (const p of [
    "/20231130/dedicatedAiClusters",
    "/20231130/endpoints/{endpointId}/actions/deactivate",
    "/20231130/workRequests/{workRequestId}/errors",
    "/n/{namespace}/b/{bucket}/o/{objectName}",
    "/v1/chat/completions",
    "/20231130/actions/generateText",
  ])
    assert.ok(doc.paths[p], p);
  const create = doc.components.schemas.CreateDedicatedAiClusterDetails;
  assert.equal(create.additionalProperties, false);
  assert.deepEqual(create.properties.type.enum, ["FINE_TUNING", "HOSTING"]);
  assert.ok(doc.components.schemas.TrainingConfig.properties.loraR);
  await h.svc.app.inject({ method: "GET", url: "/20231130/models", headers: auth(h.keyA) });
  const m = { body: await (await fetch(await h.svc.listenMetrics(0))).text() };
  assert.match(m.body, /sprig_http_requests_total\{method="GET",route="\/20231130\/models",status="200"\} 1/);
  assert.match(m.body, /sprig_http_request_duration_seconds_bucket/);
  await h.svc.close();
});
