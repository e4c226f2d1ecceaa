// Several machines, for real on one, the fine-tune half: PostgreSQL, one API node and two worker nodes as
// separate `sprig` processes (own data directories, one shared artifacts directory). Through the API: a
// FINE_TUNING cluster, training data uploaded, a T-Few fine-tune of the bundled base model, which the worker
// node holding the cluster's unit claims and runs; that node is SIGKILLed mid-run: it is declared lost, the
// unit moves to the other node, the job is queued there again and resumes from its last checkpoint in the
// shared artifacts directory, and the model ends ACTIVE with its metrics.

import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { type SprigStore } from "../../src/control/index.ts";
import { Store } from "../../src/store/index.ts";
import { HttpClient, type Json } from "../api/http-client.ts";
import { type PostgresServer, skipReason, startPostgres } from "../store/postgres-server.ts";
import { type Proc, apiNode, kill, workerNode } from "./processes.ts";

const skip = skipReason() ?? undefined;
const procs: Proc[] = [];
let pg: PostgresServer | null = null;
after(async () => {
  for (const p of procs) await kill(p);
  await pg?.stop();
});

const tmp = (p: string) => mkdtempSync(join(tmpdir(), p));

async function until<T>(f: () => Promise<T | null | undefined | false>, what: string, ms = 120_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const maxStep = async (c: HttpClient, id: string) =>
  Math.max(0, ...((await c.ok("GET", `/20231130/models/${id}/metricsHistory`)).items as Json[]).map((p) => p.step as number));

test(
  "a fine-tune on two worker nodes: run by the node holding the unit, resumed from its checkpoint on the other one after it is SIGKILLed",
  { skip },
  async () => {
    pg = await startPostgres();
    const database = await pg.newDatabase();
    const artifactsDir = tmp("sprig-mnft-artifacts-");
    const apiDir = tmp("sprig-mnft-api-");
    const s = (await Store.open(apiDir, { database, artifactsDir })) as SprigStore;
    const key = (await s.apiKeys.create(["compA"])).key;
    await s.close();

    const nodes = await Promise.all(
      ["n1", "n2"].map((id) => workerNode({ database, dataDir: tmp(`sprig-mnft-${id}-`), artifactsDir, id })),
    );
    procs.push(...nodes);
    const api = await apiNode({ database, dataDir: apiDir, artifactsDir, importRoot: join(process.cwd(), "models") });
    procs.push(api);
    const c = new HttpClient(api.url, key);

    const base = ((await c.ok("GET", "/20231130/models?compartmentId=compA")).items as Json[]).find((m) => m.type === "BASE");
    assert.ok(base, "the bundled base model is registered");
    const ftc = await c.ok("POST", "/20231130/dedicatedAiClusters", { compartmentId: "compA", type: "FINE_TUNING", unitCount: 1 });
    await c.waitFor(`/20231130/dedicatedAiClusters/${ftc.id}`, "ACTIVE");
    const units = (await c.ok("GET", `/20231130/dedicatedAiClusters/${ftc.id}`)).units as Json[];
    assert.equal(units.length, 1);
    const holder = nodes.find((n) => n.id === units[0].nodeId)!;
    const other = nodes.find((n) => n !== holder)!;

    const data = Array.from({ length: 40 }, (_, i) =>
      JSON.stringify({ prompt: `Tom has ${i % 8} cats.`, completion: ` ${"abcdefgh"[i % 8]}` }),
    );
    await c.ok("PUT", "/n/ns/b/mn/o/d.jsonl", `${data.join("\n")}\n`);
    const m = await c.ok("POST", "/20231130/models", {
      compartmentId: "compA",
      baseModelId: base.id,
      fineTuneDetails: {
        dedicatedAiClusterId: ftc.id,
        trainingDataset: { datasetType: "OBJECT_STORAGE", namespaceName: "ns", bucketName: "mn", objectName: "d.jsonl" },
        // 4 steps an epoch: long enough that the kill lands mid-run
        trainingConfig: {
          trainingConfigType: "TFEW_TRAINING_CONFIG",
          totalTrainingEpochs: 40,
          trainingBatchSize: 8,
          checkpointEveryNSteps: 2,
          earlyStoppingPatience: 0,
        },
      },
    });

    // the holder runs it: progress past a checkpoint, then the node dies with the worker process under it
    const at = await until(async () => {
      const step = await maxStep(c, m.id);
      return step >= 5 && step;
    }, "training progress");
    await kill(holder);

    const done = await until(
      async () => {
        const r = await c.ok("GET", `/20231130/models/${m.id}`);
        return ["ACTIVE", "FAILED"].includes(r.lifecycleState) && r;
      },
      "the fine-tune ending",
      240_000,
    );
    const events = ((await c.ok("GET", `/20231130/models/${m.id}/events?limit=1000`)).items as Json[]).map((e) => e.message as string);
    assert.equal(done.lifecycleState, "ACTIVE", `${done.lifecycleDetails}\n${events.join("\n")}`);
    assert.ok(Number.isFinite(done.modelMetrics.finalLoss), "metrics of the finished run");
    const resumed = events.map((e) => /resumed from step (\d+)/.exec(e)).find((x) => x);
    assert.ok(resumed, `resumed from a checkpoint:\n${events.join("\n")}`);
    const from = Number(resumed[1]);
    assert.ok(from >= 2 && from <= at + 2, `resumed from step ${from}, a checkpoint near the kill at step ${at}`);
    // the history goes on across the two runs: every step once, up to the last
    const steps = ((await c.ok("GET", `/20231130/models/${m.id}/metricsHistory`)).items as Json[]).map((p) => p.step as number);
    assert.equal(Math.max(...steps), 160);
    const moved = (await c.ok("GET", `/20231130/dedicatedAiClusters/${ftc.id}`)) as Json;
    assert.deepEqual(
      (moved.units as Json[]).map((u) => u.nodeId),
      [other.id],
    );
    const wr = await c.ok("GET", `/20231130/workRequests?resourceId=${m.id}`);
    assert.equal(wr.items[0].status, "SUCCEEDED");
  },
);
