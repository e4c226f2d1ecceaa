// SIGKILL of the whole server (`sprig serve`, a real process) at a seeded random moment of a mixed run:
// clusters being created, a fine-tune training, an endpoint loading and being toggled. After a restart
// on the same data directory every resource settles into a final state, every work request finishes,
// and the fine-tune completes: no finished work is lost and nothing stays in a transitional state.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Store } from "../../src/store/index.ts";
import { Client, FIXTURES, type Json, SEED, between, rng, waitFor } from "./helpers.ts";

const BIN = join(process.cwd(), "bin/sprig.mjs");

function serve(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BIN, "serve", "--port", "0", "--data-dir", dataDir, "--import-root", FIXTURES], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  return new Promise((resolve, reject) => {
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      const m = /"url":"([^"]+)"[^\n]*sprig is serving|sprig is serving[^\n]*"url":"([^"]+)"/.exec(buf);
      if (m) resolve({ child, url: (m[1] ?? m[2])! });
    });
    child.on("exit", (code) => reject(new Error(`sprig serve exited early (${code})`)));
  });
}

const kill = (child: ChildProcess) =>
  new Promise<void>((res) => {
    child.once("exit", () => res());
    child.kill("SIGKILL");
  });

test(`SIGKILL of the server at a random moment (seed ${SEED}): after a restart everything settles and the fine-tune finishes`, async () => {
  const dir = mkdtempSync(join(tmpdir(), "sprig-fault-server-"));
  const s = await Store.open(dir);
  const key = (await s.apiKeys.create(["compA"])).key;
  await s.close();
  let { child, url } = await serve(dir);
  let c = new Client(url, key);
  const ids: { model?: string; endpoint?: string } = {};
  try {
    const base = await c.base();
    const ftc = await c.cluster("FINE_TUNING");
    // the mixed run: everything below keeps going until the kill cuts it off
    const run = (async () => {
      const m = await c.fineTune(base.id, ftc.id, { epochs: 5 });
      ids.model = m.id;
      const hc = await c.ok("POST", "/20231130/dedicatedAiClusters", { compartmentId: "compA", type: "HOSTING", unitCount: 1 });
      await c.state(`/20231130/dedicatedAiClusters/${hc.id}`, "ACTIVE");
      const ep = await c.ok("POST", "/20231130/endpoints", { compartmentId: "compA", modelId: base.id, dedicatedAiClusterId: hc.id });
      ids.endpoint = ep.id;
      for (;;) {
        await c.state(`/20231130/endpoints/${ep.id}`, "ACTIVE");
        await c.ok("POST", `/20231130/endpoints/${ep.id}/actions/deactivate`);
        await c.state(`/20231130/endpoints/${ep.id}`, "INACTIVE");
        await c.ok("POST", `/20231130/endpoints/${ep.id}/actions/activate`);
      }
    })().catch(() => undefined);
    await new Promise((res) => setTimeout(res, between(rng(5), 500, 4000)));
    await kill(child);
    await run;
    ({ child, url } = await serve(dir));
    c = new Client(url, key);
    assert.ok(ids.model, "the fine-tune was created before the kill");
    const m: Json = await c.state(`/20231130/models/${ids.model}`, ["ACTIVE", "FAILED"]);
    assert.equal(m.lifecycleState, "ACTIVE", `the fine-tune finished: ${m.lifecycleDetails}`);
    if (ids.endpoint) await c.state(`/20231130/endpoints/${ids.endpoint}`, ["ACTIVE", "INACTIVE"]);
    await waitFor(async () => {
      const open = ((await c.ok("GET", "/20231130/workRequests?limit=1000")).items as Json[]).filter(
        (w) => !["SUCCEEDED", "FAILED", "CANCELED"].includes(w.status),
      );
      return open.length === 0 || null;
    }, "every work request finished");
    await c.settled();
    for (const kind of ["dedicatedAiClusters", "models", "endpoints"])
      for (const r of (await c.ok("GET", `/20231130/${kind}?limit=1000`)).items as Json[])
        assert.ok(["ACTIVE", "INACTIVE", "DELETED", "FAILED"].includes(r.lifecycleState), `${kind} ${r.id}: ${r.lifecycleState}`);
  } finally {
    await kill(child);
  }
});
