// Object storage and inference in-process with fake executors: objects (put/get/head/delete/list,
// isolation, size limit), OCI generateText/chat in both request shapes with streaming, OpenAI errors.

import assert from "node:assert/strict";
import { test } from "node:test";
import { until } from "../control/fakes.ts";
import { apiHarness, auth, hostedEndpoint } from "./helpers.ts";

test("object storage: put, head, get, list, delete; other compartments see 404; the size limit is 413", async () => {
  const h = await apiHarness({ control: { maxObjectBytes: 64 } });
  const app = h.svc.app;
  const url = "/n/ns/b/data/o/dir/train.jsonl";
  const put = await app.inject({
    method: "PUT",
    url,
    headers: { ...auth(h.keyA), "content-type": "application/jsonl" },
    payload: '{"prompt":"a","completion":"b"}\n',
  });
  assert.equal(put.statusCode, 200);
  assert.ok(put.headers.etag);
  const head = await app.inject({ method: "HEAD", url, headers: auth(h.keyA) });
  assert.deepEqual([head.statusCode, head.headers["content-length"], head.headers["content-type"]], [200, "32", "application/jsonl"]);
  assert.equal((await app.inject({ method: "GET", url, headers: auth(h.keyA) })).body, '{"prompt":"a","completion":"b"}\n');
  assert.deepEqual(
    (await app.inject({ method: "GET", url: "/n/ns/b/data/o?prefix=dir/", headers: auth(h.keyA) }))
      .json()
      .objects.map((o: { name: string }) => o.name),
    ["dir/train.jsonl"],
  );
  for (const method of ["GET", "HEAD", "DELETE"] as const)
    assert.equal((await app.inject({ method, url, headers: auth(h.keyB) })).statusCode, 404, method);
  assert.equal(
    (await app.inject({ method: "PUT", url, headers: auth(h.keyB), payload: "x" })).statusCode,
    404,
    "a bucket of another compartment cannot be written",
  );
  const big = await app.inject({ method: "PUT", url: "/n/ns/b/data/o/big", headers: auth(h.keyA), payload: "x".repeat(65) });
  assert.equal(big.statusCode, 413);
  assert.equal((await app.inject({ method: "HEAD", url: "/n/ns/b/data/o/big", headers: auth(h.keyA) })).statusCode, 404);
  assert.match(
    (await app.inject({ method: "PUT", url: "/n/n$/b/data/o/x", headers: auth(h.keyA), payload: "x" })).json().message,
    /path\.namespace/,
  );
  assert.equal((await app.inject({ method: "DELETE", url, headers: auth(h.keyA) })).statusCode, 204);
  assert.equal((await app.inject({ method: "GET", url, headers: auth(h.keyA) })).statusCode, 404);
  await h.svc.close();
});

test("OCI generateText and chat: LLAMA and COHERE shapes, GENERIC and COHERE chat, SSE streaming", async () => {
  const h = await apiHarness();
  const app = h.svc.app;
  const endpointId = (await hostedEndpoint(h)).endpointId;
  const servingMode = { servingType: "DEDICATED", endpointId };
  const gen = (inferenceRequest: object) =>
    app.inject({
      method: "POST",
      url: "/20231130/actions/generateText",
      headers: auth(h.keyA),
      payload: { compartmentId: "compA", servingMode, inferenceRequest },
    });
  const llama = (await gen({ runtimeType: "LLAMA", prompt: "hello world", maxTokens: 10, numGenerations: 2 })).json();
  assert.deepEqual(
    llama.inferenceResponse.choices.map((c: { text: string }) => c.text),
    ["echo hello world", "echo hello world"],
  );
  const cohere = (await gen({ runtimeType: "COHERE", prompt: "hi", maxTokens: 1, returnLikelihoods: "GENERATION" })).json();
  assert.equal(cohere.inferenceResponse.generatedTexts[0].finishReason, "MAX_TOKENS");
  assert.equal(cohere.inferenceResponse.generatedTexts[0].tokenLikelihoods.length, 1);
  const bad = await gen({ runtimeType: "LLAMA", prompt: "x", stopSequences: ["."] });
  assert.match(bad.json().message, /body\.inferenceRequest\.stopSequences: unknown field/);
  assert.equal(
    (
      await app.inject({
        method: "POST",
        url: "/20231130/actions/generateText",
        headers: auth(h.keyA),
        payload: { compartmentId: "compB", servingMode, inferenceRequest: { runtimeType: "LLAMA", prompt: "x" } },
      })
    ).statusCode,
    400,
  );
  const stream = await gen({ runtimeType: "LLAMA", prompt: "a b", isStream: true });
  assert.equal(stream.headers["content-type"], "text/event-stream; charset=utf-8");
  const frames = stream.body
    .split("\n\n")
    .filter(Boolean)
    .map((f) => JSON.parse(f.slice(6)));
  assert.equal(frames.map((f) => f.text).join(""), "echo a b");
  assert.equal(frames.at(-1).finishReason, "COMPLETE");

  const chat = (chatRequest: object) =>
    app.inject({
      method: "POST",
      url: "/20231130/actions/chat",
      headers: auth(h.keyA),
      payload: { compartmentId: "compA", servingMode, chatRequest },
    });
  const generic = (await chat({ apiFormat: "GENERIC", messages: [{ role: "USER", content: [{ type: "TEXT", text: "yo" }] }] })).json();
  assert.equal(generic.chatResponse.choices[0].message.content[0].text, "echo yo");
  const co = (
    await chat({ apiFormat: "COHERE", message: "q", chatHistory: [{ role: "CHATBOT", message: "p" }], preambleOverride: "s" })
  ).json();
  assert.equal(co.chatResponse.text, "echo s p q");
  assert.equal(co.chatResponse.chatHistory.length, 3);
  await h.svc.close();
});

test("OpenAI errors: 400 names the field in OpenAI's shape, unknown models 404, inactive endpoints 409", async () => {
  const h = await apiHarness();
  const app = h.svc.app;
  const endpointId = (await hostedEndpoint(h)).endpointId;
  const post = (payload: object, key = h.keyA) => app.inject({ method: "POST", url: "/v1/chat/completions", headers: auth(key), payload });
  const bad = (await post({ model: "ep", messages: [{ role: "user", content: "x" }], temperature: 9 })).json();
  assert.equal(bad.error.type, "invalid_request_error");
  assert.equal(bad.error.param, "temperature");
  assert.match(
    (await post({ model: "ep", messages: [{ role: "user", content: "x" }], functions: [] })).json().error.message,
    /body\.functions: unknown field/,
  );
  assert.equal((await post({ model: "nope", messages: [{ role: "user", content: "x" }] })).statusCode, 404);
  assert.equal(
    (await post({ model: "ep", messages: [{ role: "user", content: "x" }] }, h.keyB)).statusCode,
    404,
    "another compartment's endpoint is not found",
  );
  const ok = (await post({ model: "ep", messages: [{ role: "user", content: "x y" }], max_tokens: 2, n: 2 })).json();
  assert.deepEqual(
    ok.choices.map((c: { finish_reason: string }) => c.finish_reason),
    ["length", "length"],
  );
  assert.equal(ok.usage.completion_tokens, 4);
  await app.inject({ method: "POST", url: `/20231130/endpoints/${endpointId}/actions/deactivate`, headers: auth(h.keyA) });
  await until(
    async () =>
      (await app.inject({ method: "GET", url: `/20231130/endpoints/${endpointId}`, headers: auth(h.keyA) })).json().lifecycleState ===
      "INACTIVE",
    "inactive",
  );
  const off = await post({ model: endpointId, messages: [{ role: "user", content: "x" }] });
  assert.equal(off.statusCode, 409);
  assert.match(off.json().error.message, /INACTIVE: activate it/);
  assert.equal((await app.inject({ method: "GET", url: "/v1/models", headers: auth(h.keyA) })).json().data[0].lifecycle_state, "INACTIVE");
  await h.svc.close();
});
