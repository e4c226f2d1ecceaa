// The hostile-input suite: every authenticated route the server documents gets malformed JSON, wrong
// types, unknown fields, out-of-range numbers, oversized bodies and ids, traversal-shaped names and
// another compartment's ids. Every answer must be a 4xx in the API's own error shape (OpenAI's under /v1)
// with an opc-request-id, nothing of the other compartment may leak, and /health must stay ok. A route
// added without a case here fails the suite.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import { documented } from "../../src/api/routes.ts";
import { until } from "../control/fakes.ts";
import { type ApiHarness, apiHarness, auth, hostedEndpoint } from "../api/helpers.ts";

const BODY_LIMIT = 4096;
let h: ApiHarness;
/** compartment A's resources, which key B must never reach */
const a = { cluster: "", ftCluster: "", model: "", custom: "", endpoint: "", workRequest: "", bucket: "bkt-a", object: "train.jsonl" };

before(async () => {
  // the rate limit has its own tests; here it would only cut the suite short
  h = await apiHarness({ server: { bodyLimit: BODY_LIMIT, rateLimit: { perSecond: 1e6, burst: 1e6 } }, control: { maxObjectBytes: 2048 } });
  const app = h.svc.app;
  const hosted = await hostedEndpoint(h, "secret-endpoint");
  Object.assign(a, { cluster: hosted.clusterId, model: hosted.modelId, endpoint: hosted.endpointId });
  const put = await app.inject({
    method: "PUT",
    url: `/n/ns/b/${a.bucket}/o/${a.object}`,
    headers: auth(h.keyA),
    payload: '{"prompt":"a","completion":"b"}\n',
  });
  assert.equal(put.statusCode, 200, put.body);
  const ft = (
    await app.inject({
      method: "POST",
      url: "/20231130/dedicatedAiClusters",
      headers: auth(h.keyA),
      payload: { compartmentId: "compA", type: "FINE_TUNING", unitCount: 1 },
    })
  ).json();
  a.ftCluster = ft.id;
  await until(
    async () =>
      (await app.inject({ method: "GET", url: `/20231130/dedicatedAiClusters/${ft.id}`, headers: auth(h.keyA) })).json().lifecycleState ===
      "ACTIVE",
    "cluster",
  );
  const custom = await app.inject({
    method: "POST",
    url: "/20231130/models",
    headers: auth(h.keyA),
    payload: {
      compartmentId: "compA",
      baseModelId: a.model,
      fineTuneDetails: {
        dedicatedAiClusterId: ft.id,
        trainingDataset: { datasetType: "OBJECT_STORAGE", namespaceName: "ns", bucketName: a.bucket, objectName: a.object },
      },
    },
  });
  assert.equal(custom.statusCode, 200, custom.body);
  a.custom = custom.json().id;
  a.workRequest = custom.headers["opc-work-request-id"] as string;
  assert.ok(a.workRequest, "the fine-tune has a work request");
});
after(async () => h?.svc.close());

/** A valid request of each route, for key B, aimed at compartment A's resources (the param values too). */
const CASES: Record<string, { params?: () => Record<string, string>; body?: () => unknown }> = {
  "POST /20231130/dedicatedAiClusters": { body: () => ({ compartmentId: "compB", type: "HOSTING", unitCount: 1 }) },
  "GET /20231130/dedicatedAiClusters": {},
  "GET /20231130/dedicatedAiClusters/:dedicatedAiClusterId": { params: () => ({ dedicatedAiClusterId: a.cluster }) },
  "PUT /20231130/dedicatedAiClusters/:dedicatedAiClusterId": {
    params: () => ({ dedicatedAiClusterId: a.cluster }),
    body: () => ({ displayName: "mine now" }),
  },
  "DELETE /20231130/dedicatedAiClusters/:dedicatedAiClusterId": { params: () => ({ dedicatedAiClusterId: a.cluster }) },
  "POST /20231130/models": {
    body: () => ({
      compartmentId: "compB",
      baseModelId: a.custom,
      fineTuneDetails: {
        dedicatedAiClusterId: a.ftCluster,
        trainingDataset: { datasetType: "OBJECT_STORAGE", namespaceName: "ns", bucketName: a.bucket, objectName: a.object },
      },
    }),
  },
  "GET /20231130/models": {},
  "GET /20231130/models/:modelId": { params: () => ({ modelId: a.custom }) },
  "PUT /20231130/models/:modelId": { params: () => ({ modelId: a.custom }), body: () => ({ displayName: "mine now" }) },
  "DELETE /20231130/models/:modelId": { params: () => ({ modelId: a.custom }) },
  "GET /20231130/models/:modelId/metricsHistory": { params: () => ({ modelId: a.custom }) },
  "GET /20231130/models/:modelId/events": { params: () => ({ modelId: a.custom }) },
  "POST /20231130/endpoints": { body: () => ({ compartmentId: "compB", modelId: a.model, dedicatedAiClusterId: a.cluster }) },
  "GET /20231130/endpoints": {},
  "GET /20231130/endpoints/:endpointId": { params: () => ({ endpointId: a.endpoint }) },
  "PUT /20231130/endpoints/:endpointId": { params: () => ({ endpointId: a.endpoint }), body: () => ({ displayName: "mine now" }) },
  "DELETE /20231130/endpoints/:endpointId": { params: () => ({ endpointId: a.endpoint }) },
  "POST /20231130/endpoints/:endpointId/actions/deactivate": { params: () => ({ endpointId: a.endpoint }) },
  "POST /20231130/endpoints/:endpointId/actions/activate": { params: () => ({ endpointId: a.endpoint }) },
  // B's key holds compB only: A's resources are not found, whatever the target
  "POST /20231130/dedicatedAiClusters/:dedicatedAiClusterId/actions/changeCompartment": {
    params: () => ({ dedicatedAiClusterId: a.cluster }),
    body: () => ({ compartmentId: "compB" }),
  },
  "POST /20231130/models/:modelId/actions/changeCompartment": {
    params: () => ({ modelId: a.custom }),
    body: () => ({ compartmentId: "compB" }),
  },
  "POST /20231130/endpoints/:endpointId/actions/changeCompartment": {
    params: () => ({ endpointId: a.endpoint }),
    body: () => ({ compartmentId: "compB" }),
  },
  "GET /20231130/workRequests": {},
  "GET /20231130/workRequests/:workRequestId": { params: () => ({ workRequestId: a.workRequest }) },
  "DELETE /20231130/workRequests/:workRequestId": { params: () => ({ workRequestId: a.workRequest }) },
  "GET /20231130/workRequests/:workRequestId/errors": { params: () => ({ workRequestId: a.workRequest }) },
  "GET /20231130/workRequests/:workRequestId/logs": { params: () => ({ workRequestId: a.workRequest }) },
  "PUT /n/:namespace/b/:bucket/o/*": { params: () => ({ namespace: "ns", bucket: a.bucket, "*": a.object }) },
  "GET /n/:namespace/b/:bucket/o/*": { params: () => ({ namespace: "ns", bucket: a.bucket, "*": a.object }) },
  "HEAD /n/:namespace/b/:bucket/o/*": { params: () => ({ namespace: "ns", bucket: a.bucket, "*": a.object }) },
  "DELETE /n/:namespace/b/:bucket/o/*": { params: () => ({ namespace: "ns", bucket: a.bucket, "*": a.object }) },
  "GET /n/:namespace/b/:bucket/o": { params: () => ({ namespace: "ns", bucket: a.bucket }) },
  "POST /20231130/actions/generateText": {
    body: () => ({
      compartmentId: "compB",
      servingMode: { servingType: "DEDICATED", endpointId: a.endpoint },
      inferenceRequest: { runtimeType: "LLAMA", prompt: "x" },
    }),
  },
  "POST /20231130/actions/chat": {
    body: () => ({
      compartmentId: "compB",
      servingMode: { servingType: "DEDICATED", endpointId: a.endpoint },
      chatRequest: { apiFormat: "GENERIC", messages: [{ role: "USER", content: [{ type: "TEXT", text: "x" }] }] },
    }),
  },
  "POST /20231130/models/:modelId/actions/export": {
    params: () => ({ modelId: a.custom }),
    body: () => ({ format: "PEFT", namespaceName: "ns", bucketName: a.bucket }),
  },
  "POST /20231130/actions/validateTrainingData": {
    body: () => ({
      baseModelId: a.model,
      trainingDataset: { datasetType: "OBJECT_STORAGE", namespaceName: "ns", bucketName: a.bucket, objectName: a.object },
    }),
  },
  "GET /20231130/trainingConfigDefaults": {},
  "GET /20231130/endpoints/:endpointId/usage": { params: () => ({ endpointId: a.endpoint }) },
  "GET /20231130/admin/nodes": {},
  "POST /20231130/actions/embedText": {
    body: () => ({ compartmentId: "compB", servingMode: { servingType: "DEDICATED", endpointId: a.endpoint }, inputs: ["x"] }),
  },
  "POST /v1/embeddings": { body: () => ({ model: a.endpoint, input: "x" }) },
  "GET /v1/models": {},
  "GET /v1/models/:model": { params: () => ({ model: a.endpoint }) },
  "POST /v1/completions": { body: () => ({ model: a.endpoint, prompt: "x" }) },
  "POST /v1/chat/completions": { body: () => ({ model: a.endpoint, messages: [{ role: "user", content: "x" }] }) },
};

/** Out-of-range and wrong-typed values per route: each is merged into the route's valid body (compartment A's own). */
const RANGES: Record<string, object[]> = {
  "POST /20231130/dedicatedAiClusters": [
    { unitCount: 0 },
    { unitCount: 1e9 },
    { unitCount: 1.5 },
    { unitCount: "1" },
    { type: null },
    { displayName: "x".repeat(300) },
    { freeformTags: { k: 5 } },
  ],
  "POST /20231130/actions/generateText": [
    { inferenceRequest: { runtimeType: "LLAMA", prompt: "x", maxTokens: -1 } },
    { inferenceRequest: { runtimeType: "LLAMA", prompt: "x", temperature: 1e308 } },
    { inferenceRequest: { runtimeType: "LLAMA", prompt: "x", topP: 2 } },
    { inferenceRequest: { runtimeType: "LLAMA", prompt: "x", numGenerations: 1000 } },
    { inferenceRequest: { runtimeType: "GPT", prompt: "x" } },
  ],
  "POST /v1/completions": [
    { max_tokens: -5 },
    { temperature: 50 },
    { n: 1000 },
    { top_p: -1 },
    { prompt: 42 },
    { stop: ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r"] },
  ],
  "POST /v1/chat/completions": [
    { messages: [] },
    { messages: [{ role: "wizard", content: "x" }] },
    { max_tokens: 1e12 },
    { temperature: -3 },
  ],
};

const isV1 = (url: string) => url.startsWith("/v1/");

/** The answer is a 4xx in the API's error shape, with a request id; returns the body. */
function apiError(r: LightMyRequestResponse, what: string, statuses?: number[]): unknown {
  assert.ok(r.statusCode >= 400 && r.statusCode < 500, `${what}: expected a 4xx, got ${r.statusCode} ${r.body.slice(0, 300)}`);
  if (statuses)
    assert.ok(statuses.includes(r.statusCode), `${what}: expected ${statuses.join("/")}, got ${r.statusCode} ${r.body.slice(0, 300)}`);
  assert.ok(r.headers["opc-request-id"], `${what}: no opc-request-id`);
  const sent = SENT.get(r)!;
  if (sent.method === "HEAD") return null;
  const body = r.json() as Record<string, unknown>;
  if (isV1(sent.url)) {
    const e = body.error as Record<string, unknown>;
    assert.ok(
      e && typeof e.message === "string" && typeof e.type === "string" && "param" in e && typeof e.code === "string",
      `${what}: not OpenAI's error shape: ${r.body.slice(0, 300)}`,
    );
  } else assert.deepEqual(Object.keys(body).sort(), ["code", "message"], `${what}: not the OCI error shape: ${r.body.slice(0, 300)}`);
  return body;
}

function fill(url: string, params: Record<string, string>): string {
  return url.replace(/:(\w+)|\*/g, (m, name: string | undefined) => params[name ?? "*"] ?? m);
}

const routes = () => documented.filter((d) => d.auth !== false);
const keyOf = (d: { method: string; url: string }) => `${d.method} ${d.url}`;

/** what each response answered */
const SENT = new WeakMap<LightMyRequestResponse, { method: string; url: string }>();

async function send(
  method: string,
  url: string,
  key: string,
  payload?: string | Buffer,
  contentType = "application/json",
): Promise<LightMyRequestResponse> {
  const r = await h.svc.app.inject({
    method: method as "GET",
    url,
    headers: { ...auth(key), ...(payload === undefined ? {} : { "content-type": contentType }) },
    payload,
  });
  SENT.set(r, { method, url });
  return r;
}

async function healthy(): Promise<void> {
  const r = await h.svc.app.inject({ method: "GET", url: "/health" });
  assert.deepEqual([r.statusCode, r.json().status], [200, "ok"]);
}

test("every authenticated route has a hostile case", () => {
  assert.ok(routes().length >= 30, `${routes().length} routes`);
  for (const d of routes()) assert.ok(CASES[keyOf(d)], `no hostile case for ${keyOf(d)}: add it to CASES`);
});

test("another compartment's ids: 404 (or 400 for a body naming them), and nothing of them in the answer", async () => {
  const secrets = () => [a.cluster, a.model, a.custom, a.endpoint, a.workRequest, "secret-endpoint"];
  for (const d of routes()) {
    const c = CASES[keyOf(d)]!;
    const url = fill(d.url, c.params?.() ?? {});
    const body = c.body ? JSON.stringify(c.body()) : d.method === "PUT" && url.startsWith("/n/") ? "overwrite" : undefined;
    const r = await send(d.method, url, h.keyB, body, url.startsWith("/n/") ? "application/jsonl" : "application/json");
    if (keyOf(d) === "GET /20231130/admin/nodes") {
      // the operator's view answers admin keys only: a tenant's key learns nothing
      apiError(r, `B → ${keyOf(d)}`, [404]);
    } else if (!d.url.includes(":") && !c.body) {
      // lists: B sees only its own (nothing of A's)
      assert.equal(r.statusCode, 200, `${keyOf(d)}: ${r.body.slice(0, 200)}`);
    } else if (keyOf(d) === "POST /20231130/dedicatedAiClusters") {
      assert.equal(r.statusCode, 200, "B may create its own cluster");
      continue;
    } else apiError(r, `B → ${keyOf(d)}`, c.params ? [404] : [400, 404]);
    for (const s of secrets())
      assert.ok(!r.body.includes(s) || (r.statusCode === 404 && (c.params || c.body)), `${keyOf(d)} leaks ${s}: ${r.body.slice(0, 200)}`);
    // a 404 may echo the id it was asked for, but never A's names or details
    assert.ok(!r.body.includes("secret-endpoint"), `${keyOf(d)} leaks a display name`);
  }
  // A's resources are untouched
  const e = (await send("GET", `/20231130/endpoints/${a.endpoint}`, h.keyA)).json();
  assert.deepEqual([e.lifecycleState, e.displayName], ["ACTIVE", "secret-endpoint"]);
  assert.equal((await send("GET", `/n/ns/b/${a.bucket}/o/${a.object}`, h.keyA)).body, '{"prompt":"a","completion":"b"}\n');
  await healthy();
});

test("oversized, traversal-shaped and malformed ids and names: 4xx in the API's shape", async () => {
  const shapes = [
    "x".repeat(300),
    "y".repeat(5000),
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e",
    "%zz",
    "a%00b",
    "<script>",
    "' OR 1=1 --",
    "%F0%9F%8C%B1",
  ];
  for (const d of routes().filter((x) => x.url.includes(":") || x.url.includes("*"))) {
    const c = CASES[keyOf(d)]!;
    const good = c.params!();
    for (const name of Object.keys(good))
      for (const bad of shapes) {
        const url = fill(d.url, { ...good, [name]: bad });
        const r = await send(
          d.method,
          url,
          h.keyA,
          c.body ? JSON.stringify(c.body()) : d.method === "PUT" ? "x" : undefined,
          url.startsWith("/n/") ? "application/jsonl" : "application/json",
        );
        // an object name may be almost anything (it is a key, not a path): those may succeed
        if (name === "*" && r.statusCode < 300) continue;
        apiError(r, `${keyOf(d)} with ${name}=${bad.slice(0, 20)}`);
      }
  }
  // no object name escapes the objects directory
  assert.ok(!existsSync(join(h.dir, "etc")) && !existsSync(join(h.dir, "..", "etc", "passwd.sprig")));
  await healthy();
});

test("bodies: malformed JSON, wrong types, unknown fields, deep nesting, bad bytes, oversized: 400 / 413 / 415", async () => {
  const bodies: [string, string | Buffer, number[]][] = [
    ["malformed", "{", [400]],
    ["truncated", '{"compartmentId": "compA", ', [400]],
    ["array", "[]", [400]],
    ["number", "42", [400]],
    ["string", '"hello"', [400]],
    ["null", "null", [400]],
    ["unknown field", JSON.stringify({ zzUnknownField: 1 }), [400]],
    ["__proto__", '{"__proto__": {"isAdmin": true}}', [400]],
    ["deep nesting", "[".repeat(100_000) + "]".repeat(100_000), [400, 413]],
    ["not UTF-8", Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]), [400]],
    ["oversized", JSON.stringify({ compartmentId: "x".repeat(BODY_LIMIT + 10) }), [413]],
  ];
  for (const d of routes().filter((x) => CASES[keyOf(x)]!.body)) {
    const url = fill(d.url, CASES[keyOf(d)]!.params?.() ?? {});
    for (const [what, payload, statuses] of bodies) apiError(await send(d.method, url, h.keyA, payload), `${keyOf(d)}: ${what}`, statuses);
    // the valid body with one unknown field more
    apiError(
      await send(d.method, url, h.keyA, JSON.stringify({ ...(CASES[keyOf(d)]!.body!() as object), zzExtra: true })),
      `${keyOf(d)}: extra field`,
      [400],
    );
    apiError(
      await send(d.method, url, h.keyA, "compartmentId=compA", "application/x-www-form-urlencoded"),
      `${keyOf(d)}: form body`,
      [400, 415],
    );
  }
  await healthy();
});

test("out-of-range numbers and wrong types inside valid bodies; bad queries", async () => {
  for (const [k, variants] of Object.entries(RANGES)) {
    const [method, url] = k.split(" ") as [string, string];
    const base = CASES[k]!.body!() as Record<string, unknown>;
    const own = { ...base, ...("compartmentId" in base ? { compartmentId: "compA" } : {}) };
    for (const v of variants)
      apiError(await send(method, url, h.keyA, JSON.stringify({ ...own, ...v })), `${k} with ${JSON.stringify(v).slice(0, 80)}`, [400]);
  }
  for (const q of [
    "limit=0",
    "limit=100000",
    "limit=-1",
    "limit=abc",
    "page=%%%",
    "page=bm90LWEtdG9rZW4",
    "sortOrder=SIDEWAYS",
    "zz=1",
    `compartmentId=${"c".repeat(300)}`,
    "compartmentId=compB",
  ])
    for (const path of ["/20231130/dedicatedAiClusters", "/20231130/models", "/20231130/endpoints", "/20231130/workRequests"])
      apiError(await send("GET", `${path}?${q}`, h.keyA), `${path}?${q}`, [400, 404]);
  await healthy();
});

test("after all of it the service still serves compartment A", async () => {
  const r = await send("POST", "/v1/completions", h.keyA, JSON.stringify({ model: a.endpoint, prompt: "still here", max_tokens: 3 }));
  assert.equal(r.statusCode, 200, r.body);
  assert.equal(r.json().choices[0].text, "echo still here");
  await healthy();
});
