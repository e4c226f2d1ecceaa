// Faults of the fine-tune worker: SIGKILL at a seeded random step (resumes from its checkpoint and
// finishes), a hang (no heartbeat: killed, then resumed), and a full disk under the artifact store
// (the job fails cleanly with the reason and nothing half-written is served).

import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { SEED, between, rng, serveWorkers, waitFor } from "./helpers.ts";

const events = async (c: { ok(m: string, p: string): Promise<{ items: { message: string }[] }> }, id: string) =>
  (await c.ok("GET", `/20231130/models/${id}/events?limit=1000`)).items.map((e) => e.message);

test(`fine-tune worker SIGKILLed at a random step (seed ${SEED}) resumes from its checkpoint and finishes`, async () => {
  const dir = mkdtempSync(join(tmpdir(), "sprig-fault-ftkill-"));
  const { svc, c, ex } = await serveWorkers(dir);
  try {
    const base = await c.base();
    const ftc = await c.cluster("FINE_TUNING");
    // 160 steps, so the kill lands mid-run and not while a finished run is writing its outputs
    const m = await c.fineTune(base.id, ftc.id, { epochs: 40 });
    const at = between(rng(1), 3, 10);
    await waitFor(async () => (await c.maxStep(m.id)) >= at, `step ${at}`);
    process.kill(ex.fineTune.pids.get(m.id)!, "SIGKILL");
    const done = await c.state(`/20231130/models/${m.id}`, ["ACTIVE", "FAILED"]);
    assert.equal(done.lifecycleState, "ACTIVE", done.lifecycleDetails);
    assert.ok(Number.isFinite(done.modelMetrics.finalLoss));
    assert.ok(existsSync(done.artifactPath), "the artifact is in place");
    const ev = await events(c, m.id);
    assert.ok(
      ev.some((e) => /SIGKILL.*will resume/.test(e)),
      JSON.stringify(ev),
    );
    assert.ok(
      ev.some((e) => /resumed from step [1-9]/.test(e)),
      "resumed from a checkpoint, not from step 0",
    );
    const wr = await c.ok("GET", `/20231130/workRequests?resourceId=${m.id}`);
    assert.equal(wr.items[0].status, "SUCCEEDED");
    await c.settled();
  } finally {
    await svc.close();
  }
});

test("a hung fine-tune worker (no heartbeat) is killed and the job resumes", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sprig-fault-fthang-"));
  const { svc, c, ex } = await serveWorkers(dir);
  try {
    const base = await c.base();
    const ftc = await c.cluster("FINE_TUNING");
    // 160 steps, so the kill lands mid-run and not while a finished run is writing its outputs
    const m = await c.fineTune(base.id, ftc.id, { epochs: 40 });
    await waitFor(async () => (await c.maxStep(m.id)) >= between(rng(2), 3, 8), "progress");
    const pid = ex.fineTune.pids.get(m.id)!;
    process.kill(pid, "SIGSTOP"); // frozen: alive, but silent
    const done = await c.state(`/20231130/models/${m.id}`, ["ACTIVE", "FAILED"]);
    assert.equal(done.lifecycleState, "ACTIVE", done.lifecycleDetails);
    const ev = await events(c, m.id);
    assert.ok(
      ev.some((e) => /no heartbeat/.test(e)),
      JSON.stringify(ev),
    );
    assert.ok(
      ev.some((e) => /stopped responding.*will resume/.test(e)),
      JSON.stringify(ev),
    );
    assert.throws(() => process.kill(pid, 0), "the hung worker is gone");
    await c.settled();
  } finally {
    await svc.close();
  }
});

test("a full disk under the artifact store: the fine-tune fails cleanly with the reason, nothing half-written is served", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sprig-fault-enospc-"));
  const preload = join(process.cwd(), "test/faults/enospc-preload.mjs");
  process.env.SPRIG_FAULT_ENOSPC_DIR = join(dir, "artifacts");
  const { svc, c } = await serveWorkers(dir, { execArgv: ["--import", preload] });
  try {
    const base = await c.base();
    const ftc = await c.cluster("FINE_TUNING");
    const m = await c.fineTune(base.id, ftc.id, { epochs: 4 });
    const done = await c.state(`/20231130/models/${m.id}`, ["ACTIVE", "FAILED"]);
    assert.equal(done.lifecycleState, "FAILED");
    assert.match(done.lifecycleDetails, /no space left on device|ENOSPC/);
    assert.ok(!existsSync(done.artifactPath), "no artifact appeared");
    const wr = (await c.ok("GET", `/20231130/workRequests?resourceId=${m.id}`)).items[0];
    assert.equal(wr.status, "FAILED");
    // a FAILED model cannot be served
    const hc = await c.cluster("HOSTING");
    const ep = await c.call("POST", "/20231130/endpoints", { compartmentId: "compA", modelId: m.id, dedicatedAiClusterId: hc.id });
    assert.ok(ep.status === 409 || ep.status === 400, `${ep.status} ${JSON.stringify(ep.json)}`);
    await c.settled();
  } finally {
    delete process.env.SPRIG_FAULT_ENOSPC_DIR;
    await svc.close();
  }
});
