// Bring your own adapter, end to end over HTTP with real hosting workers: PEFT adapters saved by Python's
// PEFT (LoRA, IA³) are uploaded to object storage, registered as CUSTOM models of the base, served by
// an endpoint exactly as the adapter applied locally; a bad adapter is refused with every problem at once.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { baseFingerprint } from "../../src/adapters/fingerprint.ts";
import { createIa3 } from "../../src/adapters/ia3.ts";
import { loadAdapter, saveAdapter } from "../../src/adapters/peft-io.ts";
import { startService } from "../../src/api/service.ts";
import { hooksFor } from "../../src/cli/adapter-flag.ts";
import { processExecutors } from "../../src/control/workers/process-executors.ts";
import { loadModel } from "../../src/models/index.ts";
import { generate } from "../../src/serving/generate.ts";
import { ModelRunner } from "../../src/serving/model-runner.ts";
import { samplingOptions } from "../../src/serving/sampling.ts";
import { IMPORT_ROOTS } from "../control/helpers.ts";
import { HttpClient, type Json } from "./http-client.ts";

const TINY = join(process.cwd(), "test/fixtures/models/tiny-llama");
const G = "test/fixtures/golden/grad";
const PROMPT = [1, 17, 42, 99, 3];

async function localGreedy(adapterDir: string | null): Promise<number[]> {
  const m = await loadModel(TINY);
  const hooks = adapterDir ? hooksFor(m, await loadAdapter(adapterDir, m.config)) : undefined;
  const runner = await ModelRunner.create(m, { threads: 1, hooks });
  try {
    const [out] = await generate(runner, [PROMPT], [samplingOptions({ maxTokens: 6, temperature: 0 })]);
    return out!.ids;
  } finally {
    await runner.dispose();
  }
}

test("PEFT adapters uploaded through object storage become CUSTOM models that endpoints serve like trained ones", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sprig-byo-"));
  const svc = await startService({ dataDir: dir, executors: processExecutors(), control: { modelImportRoots: IMPORT_ROOTS } });
  const c = new HttpClient(await svc.listen(0), (await svc.store.apiKeys.create(["compA"])).key);
  const call = c.call.bind(c);
  const ok = c.ok.bind(c);
  const upload = async (prefix: string, files: Record<string, Buffer>) => {
    for (const [name, bytes] of Object.entries(files))
      assert.equal((await call("PUT", `/n/ns/b/adapters/o/${prefix}${name}`, bytes)).status, 200);
  };
  const fromDir = (d: string, names = ["adapter_config.json", "adapter_model.safetensors"]) =>
    Object.fromEntries(names.map((n) => [n, readFileSync(join(d, n))]));
  const importAdapter = (baseModelId: string, prefix: string) =>
    call("POST", "/20231130/models", {
      compartmentId: "compA",
      baseModelId,
      displayName: prefix.replace(/\/$/, ""),
      adapterSource: { sourceType: "OBJECT_STORAGE", namespaceName: "ns", bucketName: "adapters", prefix },
    });
  try {
    const base = await ok("POST", "/20231130/models", {
      compartmentId: "compA",
      modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: TINY },
      displayName: "tiny",
    });
    await upload("py-lora/", fromDir(`${G}/tiny-llama-lora/adapter`));
    await upload("py-ia3/", fromDir(`${G}/tiny-llama-ia3/adapter`));

    // a Sprig adapter carries its base's fingerprint: the right one passes, another base's is refused
    const tiny = await loadModel(TINY);
    const sprigDir = mkdtempSync(join(tmpdir(), "sprig-byo-a-"));
    await saveAdapter(sprigDir, createIa3(tiny.config), { baseFingerprint: baseFingerprint(tiny.config, tiny.weights) });
    await upload("sprig-ia3/", fromDir(sprigDir, ["adapter_config.json", "adapter_model.safetensors", "sprig_adapter.json"]));
    writeFileSync(join(sprigDir, "sprig_adapter.json"), JSON.stringify({ baseFingerprint: "v1:0123" }));
    await upload("other-base/", fromDir(sprigDir, ["adapter_config.json", "adapter_model.safetensors", "sprig_adapter.json"]));

    // every problem in one error: the LoRA's weights under a config that says rank 8 and one more target
    const loraCfg = JSON.parse(readFileSync(`${G}/tiny-llama-lora/adapter/adapter_config.json`, "utf8"));
    await upload("misfit/", {
      "adapter_config.json": Buffer.from(JSON.stringify({ ...loraCfg, r: 8, target_modules: ["q_proj", "v_proj", "o_proj"] })),
      "adapter_model.safetensors": readFileSync(`${G}/tiny-llama-lora/adapter/adapter_model.safetensors`),
    });
    await upload("config-only/", {
      "adapter_config.json": Buffer.from('{"peft_type": "LORA", "target_modules": ["q_proj"], "r": 4, "lora_alpha": 8, "use_dora": true}'),
    });
    const refused = await importAdapter(base.id, "other-base/");
    assert.equal(refused.status, 400);
    assert.match(
      refused.json.message,
      /made from another base model \(its baseFingerprint v1:0123; this base model's is v1:[0-9a-f]{64}\)/,
    );
    const partial = await importAdapter(base.id, "config-only/");
    assert.equal(partial.status, 400);
    assert.match(partial.json.message, /adapter_model\.safetensors: missing/);
    assert.match(partial.json.message, /use_dora: DoRA adapters are not supported/);
    const misfit = await importAdapter(base.id, "misfit/");
    assert.equal(misfit.status, 400);
    const lines: string[] = misfit.json.message.split("\n").slice(1);
    assert.equal(
      lines.filter((l) => /lora_A\.weight: shape \[4,32\] but this base model needs \[8,32\]/.test(l)).length,
      4,
      misfit.json.message,
    );
    assert.equal(
      lines.filter((l) => /missing base_model\.model\.model\.layers\.\d\.self_attn\.o_proj\.lora_[AB]\.weight/.test(l)).length,
      4,
      misfit.json.message,
    );
    const missing = await importAdapter(base.id, "nothing-here/");
    assert.equal(missing.status, 400);
    assert.match(missing.json.message, /adapter_config\.json: missing\n {2}adapter_model\.safetensors: missing/);
    assert.equal((await ok("GET", "/20231130/models?type=CUSTOM")).items.length, 0, "nothing refused was registered");

    const lora = (await importAdapter(base.id, "py-lora/")).json;
    const ia3 = (await importAdapter(base.id, "py-ia3/")).json;
    const sprigIa3 = (await importAdapter(base.id, "sprig-ia3/")).json;
    for (const m of [lora, ia3, sprigIa3]) {
      assert.equal(m.lifecycleState, "ACTIVE", JSON.stringify(m));
      assert.equal(m.type, "CUSTOM");
      assert.equal(m.artifactType, "ADAPTER");
      assert.equal(m.baseModelId, base.id);
      assert.ok(m.trainableParameters > 0);
    }

    const hc = await ok("POST", "/20231130/dedicatedAiClusters", { compartmentId: "compA", type: "HOSTING", unitCount: 1 });
    await c.waitFor(`/20231130/dedicatedAiClusters/${hc.id}`, "ACTIVE");
    const eps: Json[] = [];
    for (const m of [base, lora, ia3])
      eps.push(await ok("POST", "/20231130/endpoints", { compartmentId: "compA", modelId: m.id, dedicatedAiClusterId: hc.id }));
    for (const e of eps) await c.waitFor(`/20231130/endpoints/${e.id}`, "ACTIVE");
    const served = async (ep: Json) =>
      (await ok("POST", "/v1/completions", { model: ep.id, prompt: PROMPT, max_tokens: 6, temperature: 0 })).choices[0].text as string;
    const decode = (ids: number[]) => tiny.tokenizer!.decode(ids);
    const [wantBase, wantLora, wantIa3] = [
      await localGreedy(null),
      await localGreedy(`${G}/tiny-llama-lora/adapter`),
      await localGreedy(`${G}/tiny-llama-ia3/adapter`),
    ];
    assert.notDeepEqual(wantLora, wantBase, "the LoRA adapter changes the greedy continuation");
    assert.equal(await served(eps[0]), decode(wantBase));
    assert.equal(await served(eps[1]), decode(wantLora));
    assert.equal(await served(eps[2]), decode(wantIa3));
  } finally {
    await svc.close();
  }
});
