// Faults of a hosting worker under traffic: SIGKILL at a seeded random moment and a hang (no heartbeat).
// Every answer meanwhile is a 200 or a retryable 503 with Retry-After; the replica is replaced, its
// endpoints are served again, and nothing is left in a transitional state.

import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type Client, SEED, between, rng, serveWorkers, waitFor } from "./helpers.ts";

/** `n` clients sending requests until `stop` resolves; returns every status seen (503s checked for Retry-After). */
async function traffic(c: Client, model: string, n: number, stop: Promise<void>): Promise<Map<number, number>> {
  let done = false;
  void stop.then(() => (done = true));
  const seen = new Map<number, number>();
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      while (!done) {
        const r = await c.call("POST", "/v1/completions", { model, prompt: `Q${i % 5}:`, max_tokens: 4, temperature: 0 });
        seen.set(r.status, (seen.get(r.status) ?? 0) + 1);
        if (r.status === 503) assert.ok(r.headers.get("retry-after"), "a 503 says when to retry");
        if (r.status !== 200) await new Promise((res) => setTimeout(res, 100));
      }
    }),
  );
  return seen;
}

for (const fault of ["SIGKILL", "SIGSTOP"] as const) {
  test(`a hosting worker ${fault === "SIGKILL" ? "killed" : "hung (SIGSTOP, no heartbeat)"} under traffic (seed ${SEED}): only 200s and retryable 503s, then served again`, async () => {
    const dir = mkdtempSync(join(tmpdir(), `sprig-fault-host-${fault}-`));
    const { svc, c, ex } = await serveWorkers(dir);
    try {
      const base = await c.base();
      const hc = await c.cluster("HOSTING");
      const ep = await c.ok("POST", "/20231130/endpoints", {
        compartmentId: "compA",
        modelId: base.id,
        dedicatedAiClusterId: hc.id,
        displayName: "faulty",
      });
      await c.state(`/20231130/endpoints/${ep.id}`, "ACTIVE");
      const pool = ex.hosting.pools.get(hc.id)!;
      const [victim] = pool.pids;
      let release!: () => void;
      const stop = new Promise<void>((res) => (release = res));
      const load = traffic(c, ep.id, 6, stop);
      await new Promise((res) => setTimeout(res, between(rng(fault === "SIGKILL" ? 3 : 4), 200, 1500)));
      process.kill(victim!, fault);
      // a replacement replica serves again
      await waitFor(
        async () =>
          pool.pids.length === 1 &&
          pool.pids[0] !== victim &&
          (await c.call("POST", "/v1/completions", { model: ep.id, prompt: "Q1:", max_tokens: 2 })).status === 200,
        "served by a new replica",
      );
      release();
      const seen = await load;
      // 429: the fast 503s of the fault can drain the key's rate limit; both say when to retry
      for (const s of seen.keys())
        assert.ok(s === 200 || s === 503 || s === 429, `status ${s} during the fault: ${JSON.stringify([...seen])}`);
      assert.ok((seen.get(200) ?? 0) > 0, "requests were served");
      assert.throws(() => process.kill(victim!, 0), "the old worker is gone");
      const e = await c.ok("GET", `/20231130/endpoints/${ep.id}`);
      assert.equal(e.lifecycleState, "ACTIVE");
      await c.settled();
    } finally {
      await svc.close();
    }
  });
}
