// The smaller defects of issue 12, each pinned: display names resolve past deleted namesakes, a request
// cut off by its endpoint's deletion is told so (not 499), long ids and bad escapes get the API's error
// shape with a request id, 503s say when to retry, wrong keys are rate-limited, bodies must be UTF-8,
// `__proto__` is named, COHERE chat refuses numGenerations, GET /v1/models/{id}, resume log lines agree.

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { test } from "node:test";
import { ExecutorError, type InferenceRequest, type InferenceResult } from "../../src/control/index.ts";
import { until } from "../control/fakes.ts";
import { A, activeCluster, harness, upload } from "../control/helpers.ts";
import { apiHarness, auth, failingEndpoint, hostedEndpoint } from "./helpers.ts";

const json = { "content-type": "application/json" };

test("an endpoint's display name resolves however many deleted endpoints had it", async () => {
  const h = await apiHarness();
  try {
    const { modelId, clusterId } = await hostedEndpoint(h, "keeper");
    const app = h.svc.app;
    const stateIs = (id: string, state: string) => async () =>
      (await app.inject({ method: "GET", url: `/20231130/endpoints/${id}`, headers: auth(h.keyA) })).json().lifecycleState === state;
    const createDup = async (): Promise<{ id: string }> => {
      const e = (
        await app.inject({
          method: "POST",
          url: "/20231130/endpoints",
          headers: auth(h.keyA),
          payload: { compartmentId: "compA", modelId, dedicatedAiClusterId: clusterId, displayName: "dup" },
        })
      ).json();
      await until(stateIs(e.id, "ACTIVE"), "endpoint");
      return e;
    };
    for (let i = 0; i < 3; i++) {
      const e = await createDup();
      await app.inject({ method: "DELETE", url: `/20231130/endpoints/${e.id}`, headers: auth(h.keyA) });
      await until(stateIs(e.id, "DELETED"), "deleted");
    }
    const live = await createDup();
    const r = await app.inject({
      method: "POST",
      url: "/v1/completions",
      headers: auth(h.keyA),
      payload: { model: "dup", prompt: "hi", max_tokens: 2 },
    });
    assert.equal(r.statusCode, 200, r.body);
    const m = await app.inject({ method: "GET", url: "/v1/models/dup", headers: auth(h.keyA) });
    assert.equal(m.json().id, live.id);
  } finally {
    await h.svc.close();
  }
});

test("a request running when its endpoint is deleted gets a 409 that says so, not 499", async () => {
  const h = await apiHarness();
  try {
    const { endpointId, clusterId } = await hostedEndpoint(h);
    const pool = h.hosting.pools.get(clusterId)!;
    const held: ((e: Error) => void)[] = [];
    pool.generate = (_req: InferenceRequest) => new Promise<InferenceResult>((_res, rej) => held.push(rej));
    // deactivating with cancelInFlight fails the running requests as the hosting engine does
    pool.deactivate = async (_id: string) => {
      for (const rej of held.splice(0)) rej(new ExecutorError("the model was deactivated", 499, "model_deactivated"));
    };
    const pending = h.svc.app.inject({
      method: "POST",
      url: "/v1/completions",
      headers: auth(h.keyA),
      payload: { model: endpointId, prompt: "hi" },
    });
    await until(() => held.length === 1, "request running");
    await h.svc.app.inject({ method: "DELETE", url: `/20231130/endpoints/${endpointId}`, headers: auth(h.keyA) });
    const r = await pending;
    assert.equal(r.statusCode, 409, r.body);
    assert.match(r.json().error.message, /was deleted or deactivated while the request ran/);
  } finally {
    await h.svc.close();
  }
});

test("ids up to the schema's 255 characters reach the API (404 after auth); longer ones and bad escapes get its error shape", async () => {
  const h = await apiHarness();
  try {
    const get = (url: string, headers: Record<string, string> = auth(h.keyA)) => h.svc.app.inject({ method: "GET", url, headers });
    let r = await get(`/20231130/models/${"a".repeat(150)}`, {});
    assert.equal(r.statusCode, 401, "authentication comes first");
    r = await get(`/20231130/models/${"a".repeat(255)}`);
    assert.deepEqual([r.statusCode, r.json().code], [404, "NotAuthorizedOrNotFound"]);
    assert.ok(r.headers["opc-request-id"]);
    r = await get(`/20231130/models/${"a".repeat(256)}`);
    assert.equal(r.statusCode, 400);
    assert.match(r.json().message, /path\.modelId/);
    r = await get(`/20231130/endpoints/${"a".repeat(5000)}`);
    assert.equal(r.statusCode, 414);
    assert.equal(r.json().code, "InvalidParameter");
    assert.ok(r.headers["opc-request-id"]);
    for (const url of ["/20231130/models/%zz", "/20231130/models/%E0%A4%A"]) {
      r = await get(url);
      assert.equal(r.statusCode, 400, url);
      assert.deepEqual(Object.keys(r.json()).sort(), ["code", "message"]);
      assert.match(r.json().message, /not a valid URL/);
      assert.ok(r.headers["opc-request-id"]);
    }
    r = await get("/v1/models/%zz");
    assert.equal(r.json().error.type, "invalid_request_error");
  } finally {
    await h.svc.close();
  }
});

test("503s carry Retry-After", async () => {
  const h = await apiHarness();
  try {
    const endpointId = await failingEndpoint(
      h,
      new ExecutorError("no hosting worker is running (restarting); retry shortly", 503, "no_replica"),
    );
    const r = await h.svc.app.inject({
      method: "POST",
      url: "/v1/completions",
      headers: auth(h.keyA),
      payload: { model: endpointId, prompt: "hi" },
    });
    assert.equal(r.statusCode, 503);
    assert.equal(r.headers["retry-after"], "1");
  } finally {
    await h.svc.close();
  }
});

test("requests with wrong keys are rate-limited per client address", async () => {
  const h = await apiHarness({ server: { rateLimit: { perSecond: 0.001, burst: 3 } } });
  try {
    const statuses = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await h.svc.app.inject({ method: "GET", url: "/20231130/models", headers: auth(`sprig_guess${i}`) })).statusCode);
    assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
    const r = await h.svc.app.inject({ method: "GET", url: "/20231130/models" });
    assert.equal(r.statusCode, 429, "no key at all counts as a failure too");
    assert.equal(r.headers["retry-after"], "1");
    assert.match(r.json().message, /failed authentications/);
  } finally {
    await h.svc.close();
  }
});

test("JSON bodies: non-UTF-8 bytes and __proto__ keys are refused with what is wrong", async () => {
  const h = await apiHarness();
  try {
    const post = (payload: string | Buffer) =>
      h.svc.app.inject({ method: "POST", url: "/20231130/dedicatedAiClusters", headers: { ...auth(h.keyA), ...json }, payload });
    let r = await post(
      Buffer.concat([Buffer.from('{"compartmentId":"comp'), Buffer.from([0xff, 0xfe]), Buffer.from('","type":"HOSTING","unitCount":1}')]),
    );
    assert.equal(r.statusCode, 400);
    assert.match(r.json().message, /not valid UTF-8 \(the first bad byte is at offset 22\)/);
    r = await post('{"__proto__": {"admin": true}, "compartmentId": "compA", "type": "HOSTING", "unitCount": 1}');
    assert.equal(r.statusCode, 400);
    assert.match(r.json().message, /the key '__proto__' is not allowed/);
    r = await post(
      '{"freeformTags": {"constructor": {"prototype": {"x": 1}}}, "compartmentId": "compA", "type": "HOSTING", "unitCount": 1}',
    );
    assert.match(r.json().message, /constructor\.prototype/);
    r = await post("{nope");
    assert.match(r.json().message, /^body: not valid JSON/);
    // multi-byte UTF-8 is fine
    r = await post(JSON.stringify({ compartmentId: "compA", type: "HOSTING", unitCount: 1, displayName: "café ☕ 🌱" }));
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().displayName, "café ☕ 🌱");
  } finally {
    await h.svc.close();
  }
});

test("COHERE chat refuses numGenerations (it answers once); GET /v1/models/{id}", async () => {
  const h = await apiHarness();
  try {
    const { endpointId } = await hostedEndpoint(h);
    const chat = (chatRequest: object) =>
      h.svc.app.inject({
        method: "POST",
        url: "/20231130/actions/chat",
        headers: auth(h.keyA),
        payload: { compartmentId: "compA", servingMode: { servingType: "DEDICATED", endpointId }, chatRequest },
      });
    const r = await chat({ apiFormat: "COHERE", message: "q", numGenerations: 3 });
    assert.equal(r.statusCode, 400);
    assert.match(r.json().message, /chatRequest\.numGenerations: unknown field/);
    assert.equal(
      (await chat({ apiFormat: "GENERIC", messages: [{ role: "USER", content: [{ type: "TEXT", text: "q" }] }], numGenerations: 2 })).json()
        .chatResponse.choices.length,
      2,
    );
    const m = await h.svc.app.inject({ method: "GET", url: `/v1/models/${endpointId}`, headers: auth(h.keyA) });
    assert.equal(m.statusCode, 200);
    assert.deepEqual([m.json().id, m.json().object], [endpointId, "model"]);
    const other = await h.svc.app.inject({ method: "GET", url: `/v1/models/${endpointId}`, headers: auth(h.keyB) });
    assert.equal(other.statusCode, 404);
    assert.equal(other.json().error.type, "not_found_error");
  } finally {
    await h.svc.close();
  }
});

test("a resumed attempt's log says whether a checkpoint exists, as the trainer will find it", async () => {
  const h = await harness({ maxFineTuneAttempts: 3 });
  try {
    const base = await h.cp.models.create(A, {
      compartmentId: "compA",
      modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: "test/fixtures/models/tiny-llama" },
    });
    const ftc = await activeCluster(h, "FINE_TUNING");
    const ds = await upload(h);
    h.ft.scripts = ["crash", "crash", "succeed"];
    // the first attempt crashes before any checkpoint; the second after one (the trainer's run directory exists)
    const origStart = h.ft.start.bind(h.ft);
    let n = 0;
    h.ft.start = (spec, ev) => {
      if (++n === 2) mkdirSync(`${spec.outputDir}.partial`, { recursive: true });
      return origStart(spec, ev);
    };
    const m = await h.cp.models.create(A, {
      compartmentId: "compA",
      baseModelId: base.value.id,
      fineTuneDetails: { dedicatedAiClusterId: ftc.id, trainingDataset: ds },
    });
    await until(async () => (await h.cp.models.get(A, m.value.id)).value.lifecycleState === "ACTIVE", "model ACTIVE");
    const logs = (await h.store.workRequests.logs(m.workRequestId!, 100, 0)).items.map((x) => x.message);
    // each attempt's line also says on which unit it runs
    assert.ok(
      logs.some((l) => /^attempt 2 on unit \d+ \(.*\): starting over \(no checkpoint yet\)$/.test(l)),
      JSON.stringify(logs),
    );
    assert.ok(
      logs.some((l) => /^attempt 3 on unit \d+ \(.*\): resuming from the last checkpoint$/.test(l)),
      JSON.stringify(logs),
    );
  } finally {
    await h.cp.close();
  }
});
