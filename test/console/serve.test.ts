// Serving the console (no browser needed): its pages and the allow-listed vendor modules need no key and
// carry their content types; nothing else of node_modules is reachable; the API still needs a key.

import assert from "node:assert/strict";
import { test } from "node:test";
import { apiHarness, auth } from "../api/helpers.ts";

test("/console serves the app and only the listed vendor files, without a key", async () => {
  const h = await apiHarness();
  try {
    const get = (url: string) => h.svc.app.inject({ method: "GET", url });
    for (const [url, type] of [
      ["/console", "text/html"],
      ["/console/", "text/html"],
      ["/console/app.js", "application/javascript"],
      ["/console/pages/playground.js", "application/javascript"],
      ["/console/style.css", "text/css"],
      ["/console/vendor/preact/preact.module.js", "application/javascript"],
      ["/console/vendor/preact-hooks/hooks.module.js", "application/javascript"],
      ["/console/vendor/htm/htm.module.js", "application/javascript"],
      ["/console/vendor/uplot/uPlot.esm.js", "application/javascript"],
      ["/console/vendor/uplot/uPlot.min.css", "text/css"],
      ["/console/vendor/eventsource-parser/stream.js", "application/javascript"],
    ] as const) {
      const r = await get(url);
      assert.equal(r.statusCode, 200, url);
      assert.ok(String(r.headers["content-type"]).startsWith(type), `${url}: ${r.headers["content-type"]}`);
      assert.equal(r.headers["x-content-type-options"], "nosniff", url);
    }
    const html = (await get("/console")).body;
    for (const m of html.matchAll(/"(\/console\/[^"]+)"/g))
      assert.equal((await get(m[1]!)).statusCode, 200, `index.html refers to ${m[1]}`);
    for (const url of [
      "/console/vendor/preact/preact.js",
      "/console/vendor/preact/../package.json",
      "/console/vendor/uplot/uPlot.cjs.js",
      "/console/../package.json",
      "/console/nope.js",
    ])
      assert.ok([401, 404].includes((await get(url)).statusCode), url);
    assert.equal((await get("/20231130/models")).statusCode, 401, "the API behind it still needs a key");
    assert.equal((await h.svc.app.inject({ method: "GET", url: "/20231130/models", headers: auth(h.keyA) })).statusCode, 200);
  } finally {
    await h.svc.close();
  }
});
