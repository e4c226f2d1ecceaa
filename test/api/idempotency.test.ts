// opc-retry-token over the HTTP API: a retried create with the same token and body gets the first answer
// (same id, etag and work request; nothing created twice), also after a restart; the same token with
// another body is a 409; a failed create keeps nothing; tokens are per API key and expire after the window.

import assert from "node:assert/strict";
import { test } from "node:test";
import { apiHarness, auth } from "./helpers.ts";

test("opc-retry-token: a retried create returns the first answer; another body is a 409; failures and expired tokens run afresh", async () => {
  const h = await apiHarness();
  let h2: Awaited<ReturnType<typeof apiHarness>> | null = null;
  try {
    const post = (app: typeof h.svc.app, key: string, url: string, payload: object | string, token?: string) =>
      app.inject({
        method: "POST",
        url,
        headers: { ...auth(key), "content-type": "application/json", ...(token ? { "opc-retry-token": token } : {}) },
        payload: typeof payload === "string" ? payload : JSON.stringify(payload),
      });
    const body = { compartmentId: "compA", type: "HOSTING", unitCount: 1, displayName: "once" };
    const first = await post(h.svc.app, h.keyA, "/20231130/dedicatedAiClusters", body, "tok-1");
    assert.equal(first.statusCode, 200, first.body);
    // the same request, keys in another order and other whitespace: the same answer, nothing new
    const again = await post(
      h.svc.app,
      h.keyA,
      "/20231130/dedicatedAiClusters",
      '{ "displayName": "once", "unitCount": 1, "type": "HOSTING", "compartmentId": "compA" }',
      "tok-1",
    );
    assert.equal(again.statusCode, 200);
    assert.equal(again.json().id, first.json().id);
    assert.equal(again.headers.etag, first.headers.etag);
    assert.equal(again.headers["opc-work-request-id"], first.headers["opc-work-request-id"]);
    const listed = async (key = h.keyA, app = h.svc.app) =>
      (await app.inject({ method: "GET", url: "/20231130/dedicatedAiClusters", headers: auth(key) })).json().items.length;
    assert.equal(await listed(), 1, "created once");

    // the same token for another request: refused, saying why
    const other = await post(h.svc.app, h.keyA, "/20231130/dedicatedAiClusters", { ...body, unitCount: 2 }, "tok-1");
    assert.equal(other.statusCode, 409);
    assert.equal(other.json().code, "Conflict");
    assert.match(other.json().message, /opc-retry-token tok-1 was used in the last 24 h for a different request/);
    const otherPath = await post(
      h.svc.app,
      h.keyA,
      "/20231130/models",
      { compartmentId: "compA", modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: "test/fixtures/models/tiny-llama" } },
      "tok-1",
    );
    assert.equal(otherPath.statusCode, 409, "another route is another request");

    // without a token, every create creates
    assert.equal((await post(h.svc.app, h.keyA, "/20231130/dedicatedAiClusters", body)).statusCode, 200);
    assert.equal(await listed(), 2);

    // a failed create keeps nothing: its retry (fixed) runs
    const bad = await post(
      h.svc.app,
      h.keyA,
      "/20231130/endpoints",
      { compartmentId: "compA", modelId: "nope", dedicatedAiClusterId: "nope" },
      "tok-2",
    );
    assert.equal(bad.statusCode, 404);
    const badAgain = await post(
      h.svc.app,
      h.keyA,
      "/20231130/endpoints",
      { compartmentId: "compA", modelId: "nope", dedicatedAiClusterId: "nope" },
      "tok-2",
    );
    assert.equal(badAgain.statusCode, 404, "run again, not replayed as a success");
    const m = await post(
      h.svc.app,
      h.keyA,
      "/20231130/models",
      { compartmentId: "compA", modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: "test/fixtures/models/tiny-llama" } },
      "tok-2",
    );
    assert.equal(m.statusCode, 200, "a token whose request failed is free for the next one");
    const mAgain = await post(
      h.svc.app,
      h.keyA,
      "/20231130/models",
      { compartmentId: "compA", modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: "test/fixtures/models/tiny-llama" } },
      "tok-2",
    );
    assert.equal(mAgain.json().id, m.json().id, "models too");

    // tokens are per API key: another key's tok-1 is its own
    const keyA2 = (await h.svc.store.apiKeys.create(["compA"])).key;
    const theirs = await post(h.svc.app, keyA2, "/20231130/dedicatedAiClusters", { ...body, unitCount: 2 }, "tok-1");
    assert.equal(theirs.statusCode, 200);
    assert.notEqual(theirs.json().id, first.json().id);

    // malformed tokens are refused
    const long = await post(h.svc.app, h.keyA, "/20231130/dedicatedAiClusters", body, "x".repeat(65));
    assert.equal(long.statusCode, 400);
    assert.match(long.json().message, /opc-retry-token: 1 to 64 visible ASCII characters/);

    // durable: after a restart the retry still gets the first answer
    await h.svc.close();
    h2 = await apiHarness({}, h.dir);
    const keyA = h.keyA;
    const afterRestart = await post(h2.svc.app, keyA, "/20231130/dedicatedAiClusters", body, "tok-1");
    assert.equal(afterRestart.statusCode, 200);
    assert.equal(afterRestart.json().id, first.json().id);
    assert.equal(await listed(keyA, h2.svc.app), 3, "nothing new: the first, the untokened one, the other key's");

    // past the retention window the token is forgotten: the same request creates again
    await h2.svc.store.db.run("UPDATE retry_tokens SET time_created = ? WHERE token = 'tok-1'", [
      new Date(Date.now() - 25 * 3_600_000).toISOString(),
    ]);
    const expired = await post(h2.svc.app, keyA, "/20231130/dedicatedAiClusters", body, "tok-1");
    assert.equal(expired.statusCode, 200);
    assert.notEqual(expired.json().id, first.json().id);
  } finally {
    if (h2) await h2.svc.close();
    else await h.svc.close();
  }
});
