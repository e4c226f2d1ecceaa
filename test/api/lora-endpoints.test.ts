// Many LoRA endpoints on one hosting cluster, over HTTP with a real hosting worker: 20 LoRA custom models of
// ranks 1 to 64 are active at once and each serves exactly what its adapter gives applied locally; an
// adapter the cluster could never serve (a rank above 64, a module without LoRA tables) is refused when the
// endpoint is created, with the reason, instead of failing on activation.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { saveAdapter } from "../../src/adapters/peft-io.ts";
import { startService } from "../../src/api/service.ts";
import { hooksFor } from "../../src/cli/adapter-flag.ts";
import { processExecutors } from "../../src/control/workers/process-executors.ts";
import { loadModel } from "../../src/models/index.ts";
import { generate } from "../../src/serving/generate.ts";
import { ModelRunner } from "../../src/serving/model-runner.ts";
import { samplingOptions } from "../../src/serving/sampling.ts";
import { randomLora } from "../serving/hosting-helpers.ts";
import { IMPORT_ROOTS } from "../control/helpers.ts";

const TINY = join(process.cwd(), "test/fixtures/models/tiny-llama");
const PROMPT = [1, 17, 42, 99, 3];
const RANKS = [1, 4, 8, 16, 32, 64];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

test("20 LoRA endpoints of ranks 1-64 serve at once; what a cluster can never serve is refused at creation", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sprig-lora-eps-"));
  const svc = await startService({ dataDir: dir, executors: processExecutors(), control: { modelImportRoots: IMPORT_ROOTS } });
  const url = await svc.listen(0);
  const key = (await svc.store.apiKeys.create(["compA"])).key;
  const call = async (method: string, path: string, body?: unknown, raw = false): Promise<{ status: number; json: Json }> => {
    const r = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body !== undefined && !raw ? { "content-type": "application/json" } : {}) },
      body: body === undefined ? undefined : raw ? new Uint8Array(body as Buffer) : JSON.stringify(body),
    });
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : null };
  };
  const ok = async (method: string, path: string, body?: unknown): Promise<Json> => {
    const r = await call(method, path, body);
    assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.json)}`);
    return r.json;
  };
  const state = async (path: string, want: string): Promise<Json> => {
    for (let i = 0; i < 2400; i++) {
      const r = await ok("GET", path);
      if (r.lifecycleState === want) return r;
      if (r.lifecycleState === "FAILED") throw new Error(`${path} FAILED: ${r.lifecycleDetails}`);
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error(`${path} never became ${want}`);
  };
  const tiny = await loadModel(TINY);
  /** a random LoRA adapter uploaded to object storage and imported as a CUSTOM model */
  const importLora = async (name: string, seed: number, r: number, targets?: string[]): Promise<{ model: Json; dir: string }> => {
    const adir = mkdtempSync(join(tmpdir(), `sprig-lora-${name}-`));
    await saveAdapter(adir, randomLora(tiny.config, seed, r, targets));
    for (const f of ["adapter_config.json", "adapter_model.safetensors"])
      assert.equal((await call("PUT", `/n/ns/b/adapters/o/${name}/${f}`, readFileSync(join(adir, f)), true)).status, 200);
    const model = await ok("POST", "/20231130/models", {
      compartmentId: "compA",
      baseModelId: base.id,
      displayName: name,
      adapterSource: { sourceType: "OBJECT_STORAGE", namespaceName: "ns", bucketName: "adapters", prefix: `${name}/` },
    });
    return { model, dir: adir };
  };
  const local = async (adapterDir: string): Promise<string> => {
    const { loadAdapter } = await import("../../src/adapters/peft-io.ts");
    const runner = await ModelRunner.create(tiny, { threads: 1, hooks: hooksFor(tiny, await loadAdapter(adapterDir, tiny.config)) });
    try {
      const [out] = await generate(runner, [PROMPT], [samplingOptions({ maxTokens: 6, temperature: 0 })]);
      return tiny.tokenizer!.decode(out!.ids);
    } finally {
      await runner.dispose();
    }
  };
  let base: Json;
  try {
    base = await ok("POST", "/20231130/models", {
      compartmentId: "compA",
      modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: TINY },
      displayName: "tiny",
    });
    const hc = await ok("POST", "/20231130/dedicatedAiClusters", { compartmentId: "compA", type: "HOSTING", unitCount: 1 });
    await state(`/20231130/dedicatedAiClusters/${hc.id}`, "ACTIVE");
    const loras = [];
    for (let i = 0; i < 20; i++) loras.push(await importLora(`l${i}`, 10 + i, RANKS[i % RANKS.length]!));
    const eps: Json[] = [];
    for (const l of loras)
      eps.push(await ok("POST", "/20231130/endpoints", { compartmentId: "compA", modelId: l.model.id, dedicatedAiClusterId: hc.id }));
    for (const e of eps) await state(`/20231130/endpoints/${e.id}`, "ACTIVE");
    // all 20 at once: every request in flight together, each answered as its own adapter
    const served = await Promise.all(
      eps.map(
        async (ep) =>
          (await ok("POST", "/v1/completions", { model: ep.id, prompt: PROMPT, max_tokens: 6, temperature: 0 })).choices[0].text as string,
      ),
    );
    const want = [];
    for (const l of loras) want.push(await local(l.dir));
    assert.deepEqual(served, want);
    assert.ok(new Set(want).size > 1, "the adapters differ in what they generate");

    // never servable: refused at creation with the reason, nothing created
    const before = (await ok("GET", `/20231130/endpoints?compartmentId=compA`)).items.length;
    const r96 = await importLora("r96", 99, 96);
    const tooHigh = await call("POST", "/20231130/endpoints", {
      compartmentId: "compA",
      modelId: r96.model.id,
      dedicatedAiClusterId: hc.id,
    });
    assert.equal(tooHigh.status, 400, JSON.stringify(tooHigh.json));
    assert.equal(tooHigh.json.code, "InvalidParameter");
    assert.match(tooHigh.json.message, /can never be served by a hosting cluster: .*rank 96 exceeds this engine's LoRA rank 64/);
    const oProj = await importLora("oproj", 98, 8, ["o_proj"]);
    const noTable = await call("POST", "/20231130/endpoints", {
      compartmentId: "compA",
      modelId: oProj.model.id,
      dedicatedAiClusterId: hc.id,
    });
    assert.equal(noTable.status, 400);
    assert.match(noTable.json.message, /o_proj is not a LoRA target/);
    assert.equal((await ok("GET", `/20231130/endpoints?compartmentId=compA`)).items.length, before, "nothing was created");
  } finally {
    await svc.close();
  }
});
