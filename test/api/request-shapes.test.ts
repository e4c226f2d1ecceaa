// Request shapes SDKs and curl send: action POSTs with an empty body, with or without a JSON content
// type, reach the route (here: a 404 for an unknown endpoint, not a 400 about the body); malformed and
// prototype-poisoning JSON bodies are still refused.

import assert from "node:assert/strict";
import { test } from "node:test";
import { apiHarness, auth } from "./helpers.ts";

test("action POSTs accept an empty body with or without a JSON content type", async () => {
  const h = await apiHarness();
  try {
    const url = await h.svc.listen(0);
    const post = (body: string | undefined, headers: Record<string, string>) =>
      fetch(`${url}/20231130/endpoints/nope/actions/deactivate`, { method: "POST", headers: { ...auth(h.keyA), ...headers }, body });
    const variants: Record<string, string>[] = [
      {},
      { "content-type": "application/json" },
      { "content-type": "application/json; charset=utf-8" },
    ];
    for (const headers of variants) {
      for (const body of [undefined, "", "  \n"]) {
        const r = await post(body, headers);
        const text = await r.text();
        assert.equal(r.status, 404, `${JSON.stringify(headers)} ${JSON.stringify(body)}: ${text}`);
        assert.equal((JSON.parse(text) as { code: string }).code, "NotAuthorizedOrNotFound");
      }
    }
    const bad = await post("{", { "content-type": "application/json" });
    assert.equal(bad.status, 400);
    const poisoned = await fetch(`${url}/20231130/dedicatedAiClusters`, {
      method: "POST",
      headers: { ...auth(h.keyA), "content-type": "application/json" },
      body: '{"__proto__": {"x": 1}, "compartmentId": "compA"}',
    });
    assert.equal(poisoned.status, 400);
  } finally {
    await h.svc.close();
  }
});
