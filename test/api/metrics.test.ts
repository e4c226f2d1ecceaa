// /metrics is opt-in on a listener of its own, never on the API port; its labels are totals unless the
// operator asks for per-tenant ones; aborted requests are counted and requests in flight are a gauge.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { InferenceRequest, InferenceResult } from "../../src/control/index.ts";
import { until } from "../control/fakes.ts";
import { apiHarness, auth, hostedEndpoint } from "./helpers.ts";

test("the API port has no /metrics; the metrics listener totals without tenant ids by default", async () => {
  const h = await apiHarness();
  try {
    const { endpointId, clusterId } = await hostedEndpoint(h);
    assert.equal((await h.svc.app.inject({ method: "GET", url: "/metrics", headers: auth(h.keyA) })).statusCode, 404);
    await h.svc.app.inject({
      method: "POST",
      url: "/v1/completions",
      headers: auth(h.keyA),
      payload: { model: endpointId, prompt: "a b", max_tokens: 4 },
    });
    const url = await h.svc.listenMetrics(0);
    const text = await (await fetch(url)).text();
    assert.match(text, /sprig_http_requests_total\{method="POST",route="\/v1\/completions",status="200"\} 1/);
    assert.match(text, /sprig_tokens_total\{kind="completion"\} 3/);
    assert.match(text, /sprig_model_memory_bytes\{model="base"\} 1000/);
    assert.match(text, /sprig_model_memory_bytes\{model="custom"\} 10/);
    assert.match(text, /sprig_cluster_replicas 1/);
    assert.match(text, /sprig_http_requests_in_flight 0/);
    assert.ok(!text.includes(endpointId) && !text.includes(clusterId), "no tenant's ids in the default labels");
    assert.equal((await fetch(url.replace("/metrics", "/other"))).status, 404);
  } finally {
    await h.svc.close();
  }
});

test("per-tenant labels when the operator asks for them", async () => {
  const h = await apiHarness({ metrics: { perTenant: true } });
  try {
    const { endpointId, clusterId } = await hostedEndpoint(h);
    await h.svc.app.inject({
      method: "POST",
      url: "/v1/completions",
      headers: auth(h.keyA),
      payload: { model: endpointId, prompt: "a b", max_tokens: 4 },
    });
    const text = await (await fetch(await h.svc.listenMetrics(0))).text();
    assert.match(text, new RegExp(`sprig_tokens_total\\{endpoint="${endpointId}",kind="completion"\\} 3`));
    assert.match(text, new RegExp(`sprig_model_memory_bytes\\{cluster="${clusterId}",model="base"\\} 1000`));
  } finally {
    await h.svc.close();
  }
});

test("a request the client abandons is counted as aborted, and in flight while it runs", async () => {
  const h = await apiHarness();
  try {
    const { endpointId, clusterId } = await hostedEndpoint(h);
    // the pool streams one token, then waits until the request is cancelled
    const pool = h.hosting.pools.get(clusterId)!;
    pool.generate = (req: InferenceRequest, o: { onToken?: (d: string) => void; signal?: AbortSignal }) =>
      new Promise<InferenceResult>((_res, rej) => {
        o.onToken?.("tok");
        o.signal?.addEventListener("abort", () => rej(new Error(`canceled ${req.endpointId}`)), { once: true });
      });
    const base = await h.svc.listen(0);
    const metricsUrl = await h.svc.listenMetrics(0);
    const ac = new AbortController();
    const r = await fetch(`${base}/v1/completions`, {
      method: "POST",
      signal: ac.signal,
      headers: { ...auth(h.keyA), "content-type": "application/json" },
      body: JSON.stringify({ model: endpointId, prompt: "x", stream: true, max_tokens: 50 }),
    });
    const reader = r.body!.getReader();
    await reader.read();
    assert.match(await (await fetch(metricsUrl)).text(), /sprig_http_requests_in_flight 1/);
    ac.abort();
    await until(
      async () =>
        /sprig_http_requests_total\{method="POST",route="\/v1\/completions",status="aborted"\} 1/.test(
          await (await fetch(metricsUrl)).text(),
        ),
      "aborted counted",
      400,
    );
    assert.match(await (await fetch(metricsUrl)).text(), /sprig_http_requests_in_flight 0/);
  } finally {
    await h.svc.close();
  }
});
