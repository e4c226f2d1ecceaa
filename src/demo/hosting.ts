// Demo steps 4–6: a HOSTING cluster with endpoints for the base model and every custom model (they share
// the base weights in one worker), the memory each takes (from /metrics), and deactivating then
// reactivating one endpoint while the others keep serving.

import { ApiError, type SprigClient, waitFor } from "../api/index.ts";
import { DEMO_COMPARTMENT } from "./embedded.ts";
import { type Say, clip } from "./say.ts";
import { where } from "./fine-tune.ts";
import { ask } from "./traffic.ts";

const E = "/20231130/endpoints";

export interface DemoEndpoint {
  /** display name: "base" or the dataset's name */
  name: string;
  id: string;
  modelId: string;
}

export async function createHosting(
  client: SprigClient,
  units: number,
  models: { name: string; modelId: string }[],
  say: Say,
): Promise<{ clusterId: string; endpoints: DemoEndpoint[] }> {
  const { body } = await client.json<{ id: string }>("POST", "/20231130/dedicatedAiClusters", {
    compartmentId: DEMO_COMPARTMENT,
    type: "HOSTING",
    unitCount: units,
    unitShape: "SPRIG_CPU_SMALL",
    displayName: "demo-hosting",
  });
  const c = await waitFor(client, `/20231130/dedicatedAiClusters/${body.id}`, ["ACTIVE", "FAILED"], undefined, 100);
  say.detail(`cluster ${body.id}: ${units} unit${units > 1 ? "s" : ""} of SPRIG_CPU_SMALL (replicas, one core each) on ${where(c)}`);
  const endpoints: DemoEndpoint[] = [];
  for (const m of models) {
    const t0 = Date.now();
    const { body: e } = await client.json<{ id: string }>("POST", E, {
      compartmentId: DEMO_COMPARTMENT,
      modelId: m.modelId,
      dedicatedAiClusterId: body.id,
      displayName: m.name,
    });
    const done = await waitFor(client, `${E}/${e.id}`, ["ACTIVE", "FAILED"], undefined, 50);
    if (done.lifecycleState !== "ACTIVE")
      throw new Error(`endpoint ${m.name} is ${String(done.lifecycleState)}: ${String(done.lifecycleDetails)}`);
    say.detail(`endpoint ${m.name.padEnd(14)} ${e.id}  ACTIVE after ${Date.now() - t0} ms`);
    endpoints.push({ name: m.name, id: e.id, modelId: m.modelId });
  }
  return { clusterId: body.id, endpoints };
}

/** Bytes per served model from the Prometheus metrics: the shared base, and each endpoint's own share. */
export async function servingMemory(metricsUrl: string, clusterId: string): Promise<Map<string, number>> {
  const text = await (await fetch(metricsUrl)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^sprig_model_memory_bytes\{cluster="([^"]+)",model="([^"]+)"\} (\d+(?:\.\d+)?(?:e\+\d+)?)$/gm))
    if (m[1] === clusterId) out.set(m[2]!, Number(m[3]));
  return out;
}

export interface ToggleResult {
  endpoint: string;
  deactivateMs: number;
  activateMs: number;
  /** the error the inactive endpoint answered with */
  refusal: { status: number; message: string } | null;
  /** the other endpoints answered while it was inactive */
  othersServed: boolean;
  /** it answered again after reactivation */
  servedAgain: boolean;
}

/** Deactivate `target`, show its refusal while the others answer, reactivate it, show it answers again. */
export async function toggle(
  client: SprigClient,
  target: DemoEndpoint,
  others: DemoEndpoint[],
  prompt: string,
  say: Say,
): Promise<ToggleResult> {
  const change = async (action: "deactivate" | "activate", state: string) => {
    const t0 = performance.now();
    await client.json("POST", `${E}/${target.id}/actions/${action}`);
    await waitFor(client, `${E}/${target.id}`, [state, "FAILED"], undefined, 10);
    return Math.round(performance.now() - t0);
  };
  const deactivateMs = await change("deactivate", "INACTIVE");
  say.detail(`deactivated ${target.name}: INACTIVE after ${deactivateMs} ms (the base weights stay loaded)`);
  const [mine, ...rest] = await Promise.allSettled([target, ...others].map((e) => ask(client, e.id, prompt, 4)));
  let refusal: ToggleResult["refusal"] = null;
  if (mine!.status === "rejected" && mine!.reason instanceof ApiError)
    refusal = { status: mine!.reason.status, message: mine!.reason.message };
  else if (mine!.status === "rejected") throw mine!.reason;
  say.detail(
    refusal
      ? `request to ${target.name} → ${refusal.status} ${clip(refusal.message, 120)}`
      : `request to ${target.name} was served although it is INACTIVE`,
  );
  const othersServed = rest.every((r) => r.status === "fulfilled");
  for (const [i, r] of rest.entries())
    say.detail(
      `request to ${others[i]!.name} → ${r.status === "fulfilled" ? `200 ${JSON.stringify(clip(r.value.text, 60))}` : `failed: ${(r.reason as Error).message}`}`,
    );
  const activateMs = await change("activate", "ACTIVE");
  const again = await ask(client, target.id, prompt, 4).then(
    (r) => r,
    () => null,
  );
  say.detail(
    `reactivated ${target.name}: ACTIVE after ${activateMs} ms; it answers again → ${again ? JSON.stringify(clip(again.text, 60)) : "failed"}`,
  );
  return { endpoint: target.name, deactivateMs, activateMs, refusal, othersServed, servedAgain: again !== null };
}
