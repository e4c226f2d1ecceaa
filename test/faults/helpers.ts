// Shared by the fault suite: a small HTTP client, the service on worker processes with a short heartbeat
// timeout, a seeded random source (SPRIG_FAULT_SEED picks another run), and the invariant every fault
// must leave: nothing stuck in a transitional state once the service has settled.

import assert from "node:assert/strict";
import { join } from "node:path";
import { type Service, startService } from "../../src/api/service.ts";
import { type WorkerOptions, processExecutors } from "../../src/control/workers/process-executors.ts";
import { Rng } from "../../src/engine/rng.ts";
import { HttpClient, type Json } from "../api/http-client.ts";

export type { Json };

export const FIXTURES = join(process.cwd(), "test/fixtures/models");
export const TINY = join(FIXTURES, "tiny-llama");
export const SEED = Number(process.env.SPRIG_FAULT_SEED ?? 12);

/** A seeded source per test, so one test's draws do not shift another's. */
export const rng = (salt: number) => new Rng(SEED * 7919 + salt);
/** An integer in [lo, hi]. */
export const between = (r: Rng, lo: number, hi: number) => lo + Math.floor(r.next() * (hi - lo + 1));

export class Client extends HttpClient {
  /** Poll until the resource is in one of `states` (bounded). */
  async state(path: string, states: string | string[], ms = 120_000): Promise<Json> {
    const want = [states].flat();
    const t0 = Date.now();
    let last: Json = null;
    while (Date.now() - t0 < ms) {
      last = await this.ok("GET", path);
      if (want.includes(last.lifecycleState)) return last;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error(`${path} never became ${want.join("|")} (last ${last?.lifecycleState}: ${last?.lifecycleDetails})`);
  }

  async base(): Promise<Json> {
    return this.ok("POST", "/20231130/models", {
      compartmentId: "compA",
      modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: TINY },
    });
  }

  async cluster(type: "FINE_TUNING" | "HOSTING"): Promise<Json> {
    const c = await this.ok("POST", "/20231130/dedicatedAiClusters", { compartmentId: "compA", type, unitCount: 1 });
    return this.state(`/20231130/dedicatedAiClusters/${c.id}`, "ACTIVE");
  }

  /** Upload a small dataset and start a T-Few fine-tune of `baseId` on `clusterId`. */
  async fineTune(baseId: string, clusterId: string, o: { epochs?: number; every?: number; object?: string } = {}): Promise<Json> {
    const object = o.object ?? "d.jsonl";
    const data =
      Array.from({ length: 40 }, (_, i) => JSON.stringify({ prompt: `Q${i % 5}:`, completion: ` A${(i * 3) % 7}` })).join("\n") + "\n";
    await this.ok("PUT", `/n/ns/b/faults/o/${object}`, data);
    return this.ok("POST", "/20231130/models", {
      compartmentId: "compA",
      baseModelId: baseId,
      fineTuneDetails: {
        dedicatedAiClusterId: clusterId,
        trainingDataset: { datasetType: "OBJECT_STORAGE", namespaceName: "ns", bucketName: "faults", objectName: object },
        trainingConfig: {
          trainingConfigType: "TFEW_TRAINING_CONFIG",
          totalTrainingEpochs: o.epochs ?? 20,
          trainingBatchSize: 8,
          checkpointEveryNSteps: o.every ?? 2,
          earlyStoppingPatience: 0,
        },
      },
    });
  }

  async maxStep(modelId: string): Promise<number> {
    const items = (await this.ok("GET", `/20231130/models/${modelId}/metricsHistory`)).items as { step: number }[];
    return Math.max(0, ...items.map((p) => p.step));
  }

  /** Every resource the key sees is in a final or resumable state: no CREATING/UPDATING/DELETING but a queued or running fine-tune. */
  async settled(): Promise<void> {
    const transitional = ["CREATING", "UPDATING", "DELETING"];
    for (const kind of ["dedicatedAiClusters", "models", "endpoints"]) {
      for (const r of (await this.ok("GET", `/20231130/${kind}?limit=1000`)).items as Json[]) {
        if (!transitional.includes(r.lifecycleState)) continue;
        const fineTuning = kind === "models" && r.lifecycleState === "CREATING" && r.type === "CUSTOM";
        assert.ok(fineTuning, `${kind} ${r.id} stuck in ${r.lifecycleState} (${r.lifecycleDetails})`);
      }
    }
  }
}

export async function serveWorkers(
  dir: string,
  o: WorkerOptions = {},
): Promise<{ svc: Service; c: Client; ex: ReturnType<typeof processExecutors> }> {
  const ex = processExecutors({ heartbeatTimeoutMs: 4000, ...o });
  // the clients retry fast while a fault lasts: a roomy rate limit keeps the test about faults, not throttling
  const svc = await startService({
    dataDir: dir,
    executors: ex,
    control: { modelImportRoots: [FIXTURES] },
    server: { rateLimit: { perSecond: 1000, burst: 4000 } },
  });
  const url = await svc.listen(0);
  return { svc, ex, c: new Client(url, (await svc.store.apiKeys.create(["compA"])).key) };
}

/** Wait until `f` holds (bounded). */
export async function waitFor<T>(f: () => Promise<T | false | null | undefined>, what: string, ms = 60_000): Promise<T> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    const v = await f();
    if (v) return v;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
