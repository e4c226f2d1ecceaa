// A live service with worker processes serving one tiny model: registered, a HOSTING cluster, one
// endpoint ACTIVE. For tests that drive inference through real clients.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { type Service, startService } from "../../src/api/service.ts";
import { processExecutors } from "../../src/control/workers/process-executors.ts";

export interface LiveService {
  svc: Service;
  url: string;
  key: string;
  endpointId: string;
  /** JSON call with the key; returns status and parsed body */
  call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> & { [k: string]: unknown } }>;
  close(): Promise<void>;
}

export async function liveService(modelDir: string): Promise<LiveService> {
  // the model's own directory is the operator's import root (the service imports nothing from disk by default)
  const svc = await startService({
    dataDir: mkdtempSync(join(tmpdir(), "sprig-live-")),
    executors: processExecutors(),
    control: { modelImportRoots: [dirname(resolve(modelDir))] },
  });
  const url = await svc.listen(0);
  const key = (await svc.store.apiKeys.create(["compA"])).key;
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : null };
  };
  const until = async (path: string, state: string) => {
    for (let i = 0; i < 1200; i++) {
      const r = await call("GET", path);
      if (r.json.lifecycleState === state) return;
      if (r.json.lifecycleState === "FAILED") throw new Error(`${path} FAILED: ${String(r.json.lifecycleDetails)}`);
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error(`${path} never became ${state}`);
  };
  const ok = async (path: string, body: unknown) => {
    const r = await call("POST", path, body);
    if (r.status >= 300) throw new Error(`POST ${path}: ${r.status} ${JSON.stringify(r.json)}`);
    return r.json as { id: string };
  };
  try {
    const model = await ok("/20231130/models", {
      compartmentId: "compA",
      modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: resolve(modelDir) },
      displayName: "m",
    });
    const hc = await ok("/20231130/dedicatedAiClusters", { compartmentId: "compA", type: "HOSTING", unitCount: 1 });
    await until(`/20231130/dedicatedAiClusters/${hc.id}`, "ACTIVE");
    const ep = await ok("/20231130/endpoints", {
      compartmentId: "compA",
      modelId: model.id,
      dedicatedAiClusterId: hc.id,
      displayName: "ep",
    });
    await until(`/20231130/endpoints/${ep.id}`, "ACTIVE");
    return { svc, url, key, endpointId: ep.id, call, close: () => svc.close() };
  } catch (e) {
    await svc.close();
    throw e;
  }
}
