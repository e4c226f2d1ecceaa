// The one error path: a worker's error reaches the API with its own status (a 422 stays a 422, not a 400),
// in the API's error shape for each route family and mid-stream; unknown routes on the API and on the
// metrics listener get the same body as any other 404.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ExecutorError, ServiceError } from "../../src/control/index.ts";
import { fromExecutorError } from "../../src/control/inference.ts";
import { toServiceError } from "../../src/api/errors.ts";
import { SprigError } from "../../src/errors/index.ts";
import { apiHarness, auth, failingEndpoint } from "./helpers.ts";

test("an executor's 4xx keeps its status and message; the worker's error, with its reason, is the cause", () => {
  const worker = new ExecutorError("the adapter was made for another base model", 422, "adapter_mismatch");
  const e = fromExecutorError(worker, "ep1");
  assert.ok(e instanceof ServiceError);
  assert.deepEqual([e.status, e.code, e.message], [422, "InvalidParameter", worker.message]);
  assert.equal((e.cause as SprigError).reason, "adapter_mismatch");
  assert.deepEqual([fromExecutorError(new ExecutorError("bad", 400, "invalid_request"), "ep1").status], [400]);
  assert.equal(fromExecutorError(new ExecutorError("full", 429, "model_queue_full"), "ep1").code, "TooManyRequests");
  // the ones that mean something else to the endpoint's caller
  assert.equal(fromExecutorError(new ExecutorError("gone", 404, "unknown_model"), "ep1").code, "IncorrectState");
  assert.match(fromExecutorError(new ExecutorError("x", 499, "model_deactivated"), "ep1").message, /ep1 was deleted or deactivated/);
  assert.equal(fromExecutorError(new ExecutorError("x", 499, "closed"), "ep1").status, 503);
  assert.equal(fromExecutorError(new ExecutorError("boom", 500, "internal"), "ep1").status, 503);
  assert.equal(fromExecutorError(new Error("boom"), "ep1").status, 500);
});

test("the API maps any SprigError by its own status", () => {
  const e = toServiceError(new SprigError(422, "adapter_mismatch", "made for another base", "use one of this base"));
  assert.deepEqual([e.status, e.code, e.message, e.hint], [422, "InvalidParameter", "made for another base", "use one of this base"]);
  assert.equal(toServiceError(new SprigError(503, "no_replica", "restarting")).code, "ServiceUnavailable");
  assert.equal(toServiceError(new Error("secret detail")).status, 500);
  assert.doesNotMatch(toServiceError(new Error("secret detail")).message, /secret/);
});

test("a worker's 422 reaches both inference APIs as a 422, streamed or not", async () => {
  const h = await apiHarness();
  try {
    const endpointId = await failingEndpoint(h, new ExecutorError("the adapter was made for another base model", 422, "adapter_mismatch"));
    const post = (url: string, payload: Record<string, unknown>) =>
      h.svc.app.inject({ method: "POST", url, headers: auth(h.keyA), payload });
    const v1 = await post("/v1/completions", { model: endpointId, prompt: "hi" });
    assert.equal(v1.statusCode, 422);
    assert.deepEqual([v1.json().error.message, v1.json().error.code], ["the adapter was made for another base model", "InvalidParameter"]);
    const chat = await post("/v1/chat/completions", { model: endpointId, messages: [{ role: "user", content: "hi" }] });
    assert.equal(chat.statusCode, 422);
    const oci = await post("/20231130/actions/generateText", {
      compartmentId: "compA",
      servingMode: { servingType: "DEDICATED", endpointId },
      inferenceRequest: { runtimeType: "LLAMA", prompt: "hi" },
    });
    assert.equal(oci.statusCode, 422);
    assert.deepEqual(oci.json(), { code: "InvalidParameter", message: "the adapter was made for another base model" });
    // after the headers, the stream's error event carries the same message and code
    const streamed = await post("/v1/completions", { model: endpointId, prompt: "hi", stream: true });
    assert.equal(streamed.statusCode, 200);
    assert.match(streamed.body, /data: \{"error":\{"message":"the adapter was made for another base model","code":"InvalidParameter"\}\}/);
    assert.match(streamed.body, /data: \[DONE\]/);
  } finally {
    await h.svc.close();
  }
});

test("unknown routes get the API's 404 body, on the API and on the metrics listener", async () => {
  const h = await apiHarness();
  try {
    const r = await h.svc.app.inject({ method: "GET", url: "/nowhere?x=1", headers: auth(h.keyA) });
    assert.equal(r.statusCode, 404);
    assert.deepEqual(r.json(), { code: "NotAuthorizedOrNotFound", message: "no route GET /nowhere" });
    const v1 = await h.svc.app.inject({ method: "GET", url: "/v1/nowhere", headers: auth(h.keyA) });
    assert.equal(v1.json().error.type, "not_found_error");
    const other = await fetch((await h.svc.listenMetrics(0)).replace("/metrics", "/other"));
    assert.equal(other.status, 404);
    assert.deepEqual(await other.json(), { code: "NotAuthorizedOrNotFound", message: "this listener serves GET /metrics only" });
  } finally {
    await h.svc.close();
  }
});
