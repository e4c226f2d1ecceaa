// Issue 14's "done when", over HTTP with a real hosting worker: one hosting cluster with 50 endpoints of
// custom models — 25 T-Few and 25 LoRA of ranks 8 to 64, random PEFT adapters imported through object
// storage — serves all of them at once (one engine, one batch: the engine side of "one batch" is proven in
// test/serving/adapter-tiers.test.ts), each exactly as its adapter applied alone; an adapter the cluster
// could never serve (a rank above 64, a module without LoRA tables) is refused at creation with the reason.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { Adapter } from "../../src/adapters/adapter.ts";
import { loadAdapter, saveAdapter } from "../../src/adapters/peft-io.ts";
import { startService } from "../../src/api/service.ts";
import { hooksFor } from "../../src/cli/adapter-flag.ts";
import { processExecutors } from "../../src/control/workers/process-executors.ts";
import { type LoadedModel, loadModel } from "../../src/models/index.ts";
import { generate } from "../../src/serving/generate.ts";
import { ModelRunner } from "../../src/serving/model-runner.ts";
import { samplingOptions } from "../../src/serving/sampling.ts";
import { randomIa3, randomLora } from "../serving/hosting-helpers.ts";
import { IMPORT_ROOTS } from "../control/helpers.ts";
import { HttpClient, type Json } from "./http-client.ts";

const TINY = join(process.cwd(), "test/fixtures/models/tiny-llama");
const PROMPT = [1, 17, 42, 99, 3];
const RANKS = [8, 16, 32, 64, 12, 48];

/** A PEFT adapter saved, uploaded to object storage and imported as a CUSTOM model of `baseId`. */
async function importAdapter(c: HttpClient, baseId: string, name: string, adapter: Adapter): Promise<{ model: Json; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), `sprig-ep-${name}-`));
  await saveAdapter(dir, adapter);
  for (const f of ["adapter_config.json", "adapter_model.safetensors"])
    assert.equal((await c.call("PUT", `/n/ns/b/adapters/o/${name}/${f}`, readFileSync(join(dir, f)))).status, 200);
  const model = await c.ok("POST", "/20231130/models", {
    compartmentId: "compA",
    baseModelId: baseId,
    displayName: name,
    adapterSource: { sourceType: "OBJECT_STORAGE", namespaceName: "ns", bucketName: "adapters", prefix: `${name}/` },
  });
  return { model, dir };
}

/** What the adapter in `dir` generates applied alone, by a plain runner (not the hosting engine). */
async function alone(tiny: LoadedModel, dir: string): Promise<string> {
  const runner = await ModelRunner.create(tiny, { threads: 1, hooks: hooksFor(tiny, await loadAdapter(dir, tiny.config)) });
  try {
    const [out] = await generate(runner, [PROMPT], [samplingOptions({ maxTokens: 6, temperature: 0 })]);
    return tiny.tokenizer!.decode(out!.ids, { skipSpecialTokens: true }); // as the service renders text
  } finally {
    await runner.dispose();
  }
}

test("50 endpoints of T-Few and LoRA (ranks 8-64) custom models on one hosting cluster serve at once; what it can never serve is refused", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sprig-eps-"));
  // 50 imports, 50 endpoints polled to ACTIVE and 50 requests at once: above the default per-key rate limit
  const svc = await startService({
    dataDir: dir,
    executors: processExecutors(),
    control: { modelImportRoots: IMPORT_ROOTS },
    server: { rateLimit: { perSecond: 1000, burst: 4000 } },
  });
  const c = new HttpClient(await svc.listen(0), (await svc.store.apiKeys.create(["compA"])).key);
  const tiny = await loadModel(TINY);
  try {
    const base = await c.ok("POST", "/20231130/models", {
      compartmentId: "compA",
      modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: TINY },
      displayName: "tiny",
    });
    const hc = await c.ok("POST", "/20231130/dedicatedAiClusters", { compartmentId: "compA", type: "HOSTING", unitCount: 1 });
    await c.waitFor(`/20231130/dedicatedAiClusters/${hc.id}`, "ACTIVE");
    // never servable: refused at creation with the reason, nothing created (before the cluster is full)
    const before = (await c.ok("GET", `/20231130/endpoints?compartmentId=compA`)).items.length;
    const r96 = await importAdapter(c, base.id, "r96", randomLora(tiny.config, 99, 96));
    const tooHigh = await c.call("POST", "/20231130/endpoints", {
      compartmentId: "compA",
      modelId: r96.model.id,
      dedicatedAiClusterId: hc.id,
    });
    assert.equal(tooHigh.status, 400, JSON.stringify(tooHigh.json));
    assert.equal(tooHigh.json.code, "InvalidParameter");
    assert.match(tooHigh.json.message, /can never be served by a hosting cluster: .*rank 96 exceeds this engine's LoRA rank 64/);
    const oProj = await importAdapter(c, base.id, "oproj", randomLora(tiny.config, 98, 8, ["o_proj"]));
    const noTable = await c.call("POST", "/20231130/endpoints", {
      compartmentId: "compA",
      modelId: oProj.model.id,
      dedicatedAiClusterId: hc.id,
    });
    assert.equal(noTable.status, 400);
    assert.match(noTable.json.message, /o_proj is not a LoRA target/);
    assert.equal((await c.ok("GET", `/20231130/endpoints?compartmentId=compA`)).items.length, before, "nothing was created");
    const custom = [];
    for (let i = 0; i < 50; i++) {
      const a = i % 2 ? randomLora(tiny.config, 10 + i, RANKS[(i >> 1) % RANKS.length]!) : randomIa3(tiny.config, 10 + i);
      custom.push(await importAdapter(c, base.id, `m${i}`, a));
    }
    assert.deepEqual(
      [...new Set(custom.map((x) => `${x.model.type} ${x.model.artifactType} ${x.model.lifecycleState}`))],
      ["CUSTOM ADAPTER ACTIVE"],
    );
    const eps: Json[] = [];
    for (const x of custom)
      eps.push(await c.ok("POST", "/20231130/endpoints", { compartmentId: "compA", modelId: x.model.id, dedicatedAiClusterId: hc.id }));
    for (const e of eps) await c.waitFor(`/20231130/endpoints/${e.id}`, "ACTIVE");
    // all 50 at once: every request in flight together, each answered as its own adapter
    const served = await Promise.all(
      eps.map(
        async (ep) =>
          (await c.ok("POST", "/v1/completions", { model: ep.id, prompt: PROMPT, max_tokens: 6, temperature: 0 })).choices[0]
            .text as string,
      ),
    );
    const want = [];
    for (const x of custom) want.push(await alone(tiny, x.dir));
    assert.deepEqual(served, want);
    assert.ok(new Set(want).size > 10, "the adapters differ in what they generate");
  } finally {
    await svc.close();
  }
});
