// An in-process service with fake executors on a fresh data dir, and a key per compartment.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Service, type ServiceOptions, startService } from "../../src/api/service.ts";
import { FakeFineTune, FakeHosting } from "../control/fakes.ts";
import { FAKE_NODE, IMPORT_ROOTS } from "../control/helpers.ts";

export interface ApiHarness {
  svc: Service;
  ft: FakeFineTune;
  hosting: FakeHosting;
  keyA: string;
  keyB: string;
  dir: string;
}

export async function apiHarness(o: Partial<ServiceOptions> = {}, dir = mkdtempSync(join(tmpdir(), "sprig-api-"))): Promise<ApiHarness> {
  const ft = new FakeFineTune();
  const hosting = new FakeHosting();
  // fake executors run nothing on real cores: a roomy node whose cores are only accounted
  const svc = await startService({
    dataDir: dir,
    executors: { fineTune: ft, hosting },
    node: FAKE_NODE,
    ...o,
    control: { modelImportRoots: IMPORT_ROOTS, ...o.control },
  });
  const keyA = (await svc.store.apiKeys.create(["compA"])).key;
  const keyB = (await svc.store.apiKeys.create(["compB"])).key;
  return { svc, ft, hosting, keyA, keyB, dir };
}

export const auth = (key: string) => ({ authorization: `Bearer ${key}` });

/** A BASE model (the tiny fixture), an ACTIVE HOSTING cluster and an ACTIVE endpoint on it, in compA. */
export async function hostedEndpoint(
  h: ApiHarness,
  displayName = "ep",
): Promise<{ endpointId: string; modelId: string; clusterId: string }> {
  const app = h.svc.app;
  const { until } = await import("../control/fakes.ts");
  const m = (
    await app.inject({
      method: "POST",
      url: "/20231130/models",
      headers: auth(h.keyA),
      payload: { compartmentId: "compA", modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: "test/fixtures/models/tiny-llama" } },
    })
  ).json();
  const c = (
    await app.inject({
      method: "POST",
      url: "/20231130/dedicatedAiClusters",
      headers: auth(h.keyA),
      payload: { compartmentId: "compA", type: "HOSTING", unitCount: 1 },
    })
  ).json();
  await until(
    async () =>
      (await app.inject({ method: "GET", url: `/20231130/dedicatedAiClusters/${c.id}`, headers: auth(h.keyA) })).json().lifecycleState ===
      "ACTIVE",
    "cluster",
  );
  const e = (
    await app.inject({
      method: "POST",
      url: "/20231130/endpoints",
      headers: auth(h.keyA),
      payload: { compartmentId: "compA", modelId: m.id, dedicatedAiClusterId: c.id, displayName },
    })
  ).json();
  await until(
    async () =>
      (await app.inject({ method: "GET", url: `/20231130/endpoints/${e.id}`, headers: auth(h.keyA) })).json().lifecycleState === "ACTIVE",
    "endpoint",
  );
  return { endpointId: e.id, modelId: m.id, clusterId: c.id };
}

/** An ACTIVE endpoint (hostedEndpoint) whose pool fails every generation with `err`, as a worker would report it. */
export async function failingEndpoint(h: ApiHarness, err: Error): Promise<string> {
  const { endpointId, clusterId } = await hostedEndpoint(h);
  h.hosting.pools.get(clusterId)!.generate = async () => {
    throw err;
  };
  return endpointId;
}
