// The seed workflow over real HTTP with worker processes and a tiny model: FINE_TUNING cluster → upload
// data → three T-Few custom models → HOSTING cluster → endpoints for the base and the three → concurrent
// requests through the official `openai` client → deactivate one → reactivate → restart → still serving.
// Plus: bad training data gives line-numbered errors. (Killed and hung workers: test/faults.)

import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import OpenAI from "openai";
import { type Service, startService } from "../../src/api/service.ts";
import { processExecutors } from "../../src/control/workers/process-executors.ts";
import { HttpClient, type Json } from "./http-client.ts";

const TINY = join(process.cwd(), "test/fixtures/models/tiny-llama");

function dataset(seed: number, n = 40): string {
  return (
    Array.from({ length: n }, (_, i) => JSON.stringify({ prompt: `Q${(i + seed) % 5}:`, completion: ` A${(i * seed) % 7}` })).join("\n") +
    "\n"
  );
}

class Client extends HttpClient {
  /** Poll a resource until it reaches `state` (bounded; fails early on FAILED). */
  async state(path: string, state: string, tries = 1200): Promise<Json> {
    for (let i = 0; i < tries; i++) {
      const r = await this.ok("GET", path);
      if (r.lifecycleState === state) return r;
      if (r.lifecycleState === "FAILED" && state !== "FAILED") throw new Error(`${path} FAILED: ${r.lifecycleDetails}`);
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error(`${path} never became ${state}`);
  }
}

async function serve(dir: string, executors = processExecutors()): Promise<{ svc: Service; url: string }> {
  const svc = await startService({ dataDir: dir, executors, control: { modelImportRoots: [join(process.cwd(), "test/fixtures/models")] } });
  return { svc, url: await svc.listen(0) };
}

test("seed workflow over HTTP: fine-tune three T-Few models, host them with the base, serve through openai, toggle, restart", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sprig-flow-"));
  let { svc, url } = await serve(dir);
  const key = (await svc.store.apiKeys.create(["compA"])).key;
  const c = new Client(url, key);
  try {
    const base = await c.ok("POST", "/20231130/models", {
      compartmentId: "compA",
      modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: TINY },
      displayName: "tiny",
    });
    const ftc = await c.ok("POST", "/20231130/dedicatedAiClusters", { compartmentId: "compA", type: "FINE_TUNING", unitCount: 2 });
    await c.state(`/20231130/dedicatedAiClusters/${ftc.id}`, "ACTIVE");
    for (let k = 1; k <= 3; k++)
      assert.equal(
        (await c.call("PUT", `/n/ns/b/training/o/set${k}.jsonl`, dataset(k), { "content-type": "application/jsonl" })).status,
        200,
      );
    assert.equal(
      (
        await c.call("PUT", "/n/ns/b/training/o/bad.jsonl", `${dataset(1, 33)}{"prompt": 1}\nnot json\n`, {
          "content-type": "application/jsonl",
        })
      ).status,
      200,
    );
    const head = await fetch(`${url}/n/ns/b/training/o/set1.jsonl`, { method: "HEAD", headers: { authorization: `Bearer ${key}` } });
    assert.equal(Number(head.headers.get("content-length")), Buffer.byteLength(dataset(1)));

    const create = (name: string, objectName: string) =>
      c.ok("POST", "/20231130/models", {
        compartmentId: "compA",
        baseModelId: base.id,
        displayName: name,
        fineTuneDetails: {
          dedicatedAiClusterId: ftc.id,
          trainingDataset: { datasetType: "OBJECT_STORAGE", namespaceName: "ns", bucketName: "training", objectName },
          trainingConfig: { trainingConfigType: "TFEW_TRAINING_CONFIG", totalTrainingEpochs: 1, trainingBatchSize: 8 },
        },
      });
    const bad = await c.call("POST", "/20231130/models", {
      compartmentId: "compA",
      baseModelId: base.id,
      fineTuneDetails: {
        dedicatedAiClusterId: ftc.id,
        trainingDataset: { datasetType: "OBJECT_STORAGE", namespaceName: "ns", bucketName: "training", objectName: "bad.jsonl" },
      },
    });
    const customs = await Promise.all([
      create("custom-1", "set1.jsonl"),
      create("custom-2", "set2.jsonl"),
      create("custom-3", "set3.jsonl"),
    ]);
    for (const m of customs) {
      const done = await c.state(`/20231130/models/${m.id}`, "ACTIVE");
      assert.equal(done.modelMetrics.modelMetricsType, "TEXT_GENERATION_MODEL_METRICS");
      assert.ok(Number.isFinite(done.modelMetrics.finalLoss) && done.modelMetrics.finalAccuracy >= 0);
      assert.ok((await c.ok("GET", `/20231130/models/${m.id}/metricsHistory`)).items.length >= 1);
    }
    await c.state(`/20231130/models/${bad.json.id}`, "FAILED");
    const errors = (await c.ok("GET", `/20231130/workRequests/${bad.headers.get("opc-work-request-id")}/errors`)).items.map(
      (e: { message: string }) => e.message,
    );
    assert.ok(
      errors.some((m: string) => m.startsWith("line 34:")) && errors.some((m: string) => m.startsWith("line 35:")),
      JSON.stringify(errors),
    );

    // the fine-tuning cluster's two units hold a 2-core machine's cores: free them for hosting
    assert.equal((await c.call("DELETE", `/20231130/dedicatedAiClusters/${ftc.id}`)).status, 202);
    await c.state(`/20231130/dedicatedAiClusters/${ftc.id}`, "DELETED");
    const hc = await c.ok("POST", "/20231130/dedicatedAiClusters", { compartmentId: "compA", type: "HOSTING", unitCount: 1 });
    await c.state(`/20231130/dedicatedAiClusters/${hc.id}`, "ACTIVE");
    assert.equal(hc.units.length, 1, "the hosting unit holds a reserved core");
    const eps = [];
    for (const [i, m] of [base, ...customs].entries())
      eps.push(
        await c.ok("POST", "/20231130/endpoints", {
          compartmentId: "compA",
          modelId: m.id,
          dedicatedAiClusterId: hc.id,
          displayName: `ep-${i}`,
        }),
      );
    for (const e of eps) await c.state(`/20231130/endpoints/${e.id}`, "ACTIVE");
    assert.equal((await c.ok("GET", `/20231130/dedicatedAiClusters/${hc.id}`)).capacity.usedEndpointCapacity, 4);

    const openai = new OpenAI({ apiKey: key, baseURL: `${url}/v1`, maxRetries: 0 });
    const models = await openai.models.list();
    assert.deepEqual(new Set(models.data.map((m) => m.id)), new Set(eps.map((e) => e.id)));
    const ask = (model: string) =>
      openai.chat.completions.create({ model, messages: [{ role: "user", content: "Q1:" }], max_tokens: 5, temperature: 0, seed: 1 });
    const answers = await Promise.all(eps.flatMap((e) => [ask(e.id), ask(e.displayName)]));
    for (const a of answers) {
      assert.equal(a.object, "chat.completion");
      assert.ok(a.usage!.completion_tokens >= 1 && a.usage!.completion_tokens <= 5);
      assert.equal(typeof a.choices[0]!.message.content, "string");
    }
    const comp = await openai.completions.create({ model: eps[1]!.id, prompt: "Q2:", max_tokens: 4, temperature: 0, logprobs: 1, n: 2 });
    assert.equal(comp.choices.length, 2);
    assert.equal(comp.choices[0]!.logprobs!.token_logprobs!.length, comp.usage!.completion_tokens / 2);
    let streamed = "";
    const stream = await openai.chat.completions.create({
      model: eps[2]!.id,
      messages: [{ role: "user", content: "Q3:" }],
      max_tokens: 6,
      temperature: 0,
      stream: true,
    });
    for await (const ch of stream) streamed += ch.choices[0]?.delta.content ?? "";
    const whole = await openai.chat.completions.create({
      model: eps[2]!.id,
      messages: [{ role: "user", content: "Q3:" }],
      max_tokens: 6,
      temperature: 0,
    });
    assert.equal(streamed, whole.choices[0]!.message.content, "streaming gives the same text");
    const oci = await c.ok("POST", "/20231130/actions/generateText", {
      compartmentId: "compA",
      servingMode: { servingType: "DEDICATED", endpointId: eps[3]!.id },
      inferenceRequest: { runtimeType: "LLAMA", prompt: "Q4:", maxTokens: 3, temperature: 0 },
    });
    assert.equal(oci.inferenceResponse.runtimeType, "LLAMA");
    assert.equal(oci.modelId, customs[2]!.id);

    await c.ok("POST", `/20231130/endpoints/${eps[1]!.id}/actions/deactivate`);
    await c.state(`/20231130/endpoints/${eps[1]!.id}`, "INACTIVE");
    await assert.rejects(ask(eps[1]!.id), (e: unknown) => e instanceof OpenAI.APIError && e.status === 409 && /INACTIVE/.test(e.message));
    const others = await Promise.all([ask(eps[0]!.id), ask(eps[2]!.id), ask(eps[3]!.id)]);
    assert.equal(others.length, 3);
    await c.ok("POST", `/20231130/endpoints/${eps[1]!.id}/actions/activate`);
    await c.state(`/20231130/endpoints/${eps[1]!.id}`, "ACTIVE");
    assert.ok((await ask(eps[1]!.id)).choices[0]);
    const before = (await ask(eps[3]!.id)).choices[0]!.message.content;

    await svc.close();
    ({ svc, url } = await serve(dir));
    const c2 = new Client(url, key);
    for (const e of eps) await c2.state(`/20231130/endpoints/${e.id}`, "ACTIVE");
    const openai2 = new OpenAI({ apiKey: key, baseURL: `${url}/v1`, maxRetries: 0 });
    const after = await openai2.chat.completions.create({
      model: eps[3]!.id,
      messages: [{ role: "user", content: "Q1:" }],
      max_tokens: 5,
      temperature: 0,
      seed: 1,
    });
    assert.equal(after.choices[0]!.message.content, before, "the same custom model answers the same after the restart");
    const metrics = await (await fetch(await svc.listenMetrics(0))).text();
    assert.match(metrics, /sprig_model_memory_bytes\{model="base"\} \d+/);
  } finally {
    await svc.close();
  }
});
