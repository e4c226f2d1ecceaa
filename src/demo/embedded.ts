// The demo's embedded service: `startService` in this process on a data directory, listening on an
// ephemeral 127.0.0.1 port, with the demo's base model registered as `sprig serve` registers the bundled
// one, and an API key for the demo's compartment. Everything else goes over HTTP like any client's.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { SprigClient } from "../api/index.ts";
import { type Service, startService } from "../api/index.ts";
import { LOCAL_NODE_ID, shape } from "../control/index.ts";

export const DEMO_COMPARTMENT = "demo";

export interface Embedded {
  svc: Service;
  url: string;
  /** the Prometheus metrics (a listener of their own, per-endpoint labels) */
  metricsUrl: string;
  key: string;
  client: SprigClient;
  dataDir: string;
  /** the registered BASE model's id */
  baseModelId: string;
  /** SPRIG_CPU_SMALL units that fit in the embedded node's free cores and memory now */
  freeUnits(): Promise<number>;
  /** stop the service; remove the data directory unless it is to be kept */
  close(): Promise<void>;
}

export async function startEmbedded(o: { modelDir: string; dataDir?: string; keep: boolean }): Promise<Embedded> {
  const dataDir = o.dataDir ? resolve(o.dataDir) : mkdtempSync(join(tmpdir(), "sprig-demo-"));
  const remove = !o.keep && !o.dataDir;
  const modelDir = resolve(o.modelDir);
  let svc: Service;
  try {
    svc = await startService({
      dataDir,
      control: { defaultBaseModelDir: modelDir },
      // the report shows each endpoint's memory: the demo's own metrics listener, with per-endpoint labels
      metrics: { perTenant: true },
      // a local demo fires its requests in bursts: the per-key limit is raised accordingly
      server: { logger: false, rateLimit: { perSecond: 1000, burst: 4000 } },
    });
  } catch (e) {
    if (remove) rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await svc.close();
    if (remove) rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const url = await svc.listen(0, "127.0.0.1");
    const metricsUrl = await svc.listenMetrics(0, "127.0.0.1");
    const key = (await svc.store.apiKeys.create([DEMO_COMPARTMENT], "sprig demo")).key;
    const client = new SprigClient({ url, apiKey: key });
    const models = await client.all<{ id: string; type: string; artifactPath: string | null }>("/20231130/models");
    const base = models.find((m) => m.type === "BASE" && m.artifactPath === modelDir);
    if (!base) throw new Error(`the service did not register ${modelDir} as a base model`);
    const small = shape("SPRIG_CPU_SMALL");
    const freeUnits = async () => {
      // the embedded service's own node, as the operator's admin view shows it
      const node = (await svc.control.capacityView({ compartments: [], admin: true })).nodes.find((n) => n.id === LOCAL_NODE_ID);
      return node ? Math.min(Math.floor(node.freeCores.length / small.cores), Math.floor(node.freeMemoryBytes / small.memoryBytes)) : 0;
    };
    return { svc, url, metricsUrl, key, client, dataDir, baseModelId: base.id, freeUnits, close };
  } catch (e) {
    await close();
    throw e;
  }
}
