// The seed workflow over real HTTP with worker processes and a tiny model: FINE_TUNING cluster → upload
// data → three T-Few custom models → HOSTING cluster → endpoints for the base and the three → concurrent
// requests through the official `openai` client → deactivate one → reactivate → restart → still serving.
// Plus: bad training data gives line-numbered errors, and a SIGKILLed fine-tune worker resumes.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import OpenAI from "openai";
import { type Service, startService } from "../../src/api/service.ts";
import { processExecutors } from "../../src/control/workers/process-executors.ts";
import { until } from "../control/fakes.ts";

const TINY = join(process.cwd(), "test/fixtures/models/tiny-llama");

function dataset(seed: number, n = 40): string {
  return Array.from({ length: n }, (_, i) => JSON.stringify({ prompt: `Q${(i + seed) % 5}:`, completion: ` A${(i * seed) % 7}` })).join("\n") + "\n";
}

// response bodies are read field by field and checked by the assertions themselves
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

class Client {
  constructor(
    readonly url: string,
    readonly key: string,
  ) {}

  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Json; headers: Headers }> {
    const r = await fetch(this.url + path, {
      method,
      headers: { authorization: `Bearer ${this.key}`, ...(body !== undefined && typeof body !== "string" ? { "content-type": "application/json" } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : null, headers: r.headers };
  }

  async ok(method: string, path: string, body?: unknown): Promise<Json> {
    const r = await this.call(method, path, body);
    assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.json)}`);
    return r.json;
  }

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
  const svc = await startService({ dataDir: dir, executors });
  return { svc, url: await svc.listen(0) };
}

test("seed workflow over HTTP: fine-tune three T-Few models, host them with the base, serve through openai, toggle, restart", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sprig-flow-"));
  let { svc, url } = await serve(dir);
  const key = svc.store.apiKeys.create(["compA"]).key;
  const c = new Client(url, key);
  try {
    const base = await c.ok("POST", "/20231130/models", { compartmentId: "compA", modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: TINY }, displayName: "tiny" });
    const ftc = await c.ok("POST", "/20231130/dedicatedAiClusters", { compartmentId: "compA", type: "FINE_TUNING", unitCount: 2 });
    await c.state(`/20231130/dedicatedAiClusters/${ftc.id}`, "ACTIVE");
    for (let k = 1; k <= 3; k++) assert.equal((await c.call("PUT", `/n/ns/b/training/o/set${k}.jsonl`, dataset(k), { "content-type": "application/jsonl" })).status, 200);
    assert.equal((await c.call("PUT", "/n/ns/b/training/o/bad.jsonl", `${dataset(1, 33)}{"prompt": 1}\nnot json\n`, { "content-type": "application/jsonl" })).status, 200);
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
      fineTuneDetails: { dedicatedAiClusterId: ftc.id, trainingDataset: { datasetType: "OBJECT_STORAGE", namespaceName: "ns", bucketName: "training", objectName: "bad.jsonl" } },
    });
    const customs = await Promise.all([create("custom-1", "set1.jsonl"), create("custom-2", "set2.jsonl"), create("custom-3", "set3.jsonl")]);
    for (const m of customs) {
      const done = await c.state(`/20231130/models/${m.id}`, "ACTIVE");
      assert.equal(done.modelMetrics.modelMetricsType, "TEXT_GENERATION_MODEL_METRICS");
      assert.ok(Number.isFinite(done.modelMetrics.finalLoss) && done.modelMetrics.finalAccuracy >= 0);
      assert.ok((await c.ok("GET", `/20231130/models/${m.id}/metricsHistory`)).items.length >= 1);
    }
    await c.state(`/20231130/models/${bad.json.id}`, "FAILED");
    const errors = (await c.ok("GET", `/20231130/workRequests/${bad.headers.get("opc-work-request-id")}/errors`)).items.map((e: { message: string }) => e.message);
    assert.ok(errors.some((m: string) => m.startsWith("line 34:")) && errors.some((m: string) => m.startsWith("line 35:")), JSON.stringify(errors));

    // the fine-tuning cluster's two units hold a 2-core machine's cores: free them for hosting
    assert.equal((await c.call("DELETE", `/20231130/dedicatedAiClusters/${ftc.id}`)).status, 202);
    await c.state(`/20231130/dedicatedAiClusters/${ftc.id}`, "DELETED");
    const hc = await c.ok("POST", "/20231130/dedicatedAiClusters", { compartmentId: "compA", type: "HOSTING", unitCount: 1 });
    await c.state(`/20231130/dedicatedAiClusters/${hc.id}`, "ACTIVE");
    assert.equal(hc.units.length, 1, "the hosting unit holds a reserved core");
    const eps = [];
    for (const [i, m] of [base, ...customs].entries())
      eps.push(await c.ok("POST", "/20231130/endpoints", { compartmentId: "compA", modelId: m.id, dedicatedAiClusterId: hc.id, displayName: `ep-${i}` }));
    for (const e of eps) await c.state(`/20231130/endpoints/${e.id}`, "ACTIVE");
    assert.equal((await c.ok("GET", `/20231130/dedicatedAiClusters/${hc.id}`)).capacity.usedEndpointCapacity, 4);

    const openai = new OpenAI({ apiKey: key, baseURL: `${url}/v1`, maxRetries: 0 });
    const models = await openai.models.list();
    assert.deepEqual(new Set(models.data.map((m) => m.id)), new Set(eps.map((e) => e.id)));
    const ask = (model: string) => openai.chat.completions.create({ model, messages: [{ role: "user", content: "Q1:" }], max_tokens: 5, temperature: 0, seed: 1 });
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
    const stream = await openai.chat.completions.create({ model: eps[2]!.id, messages: [{ role: "user", content: "Q3:" }], max_tokens: 6, temperature: 0, stream: true });
    for await (const ch of stream) streamed += ch.choices[0]?.delta.content ?? "";
    const whole = await openai.chat.completions.create({ model: eps[2]!.id, messages: [{ role: "user", content: "Q3:" }], max_tokens: 6, temperature: 0 });
    assert.equal(streamed, whole.choices[0]!.message.content, "streaming gives the same text");
    const oci = await c.ok("POST", "/20231130/actions/generateText", { compartmentId: "compA", servingMode: { servingType: "DEDICATED", endpointId: eps[3]!.id }, inferenceRequest: { runtimeType: "LLAMA", prompt: "Q4:", maxTokens: 3, temperature: 0 } });
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
    const after = await openai2.chat.completions.create({ model: eps[3]!.id, messages: [{ role: "user", content: "Q1:" }], max_tokens: 5, temperature: 0, seed: 1 });
    assert.equal(after.choices[0]!.message.content, before, "the same custom model answers the same after the restart");
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /sprig_model_memory_bytes\{cluster="[^"]+",model="base"\} \d+/);
  } finally {
    await svc.close();
  }
});

test("a fine-tune worker killed with SIGKILL resumes from its checkpoint and finishes", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sprig-kill-"));
  const ex = processExecutors();
  const { svc, url } = await serve(dir, ex);
  const c = new Client(url, svc.store.apiKeys.create(["compA"]).key);
  try {
    const base = await c.ok("POST", "/20231130/models", { compartmentId: "compA", modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: TINY } });
    const ftc = await c.ok("POST", "/20231130/dedicatedAiClusters", { compartmentId: "compA", type: "FINE_TUNING", unitCount: 1 });
    await c.state(`/20231130/dedicatedAiClusters/${ftc.id}`, "ACTIVE");
    await c.call("PUT", "/n/ns/b/t/o/d.jsonl", dataset(2));
    const m = await c.ok("POST", "/20231130/models", {
      compartmentId: "compA",
      baseModelId: base.id,
      fineTuneDetails: {
        dedicatedAiClusterId: ftc.id,
        trainingDataset: { datasetType: "OBJECT_STORAGE", namespaceName: "ns", bucketName: "t", objectName: "d.jsonl" },
        trainingConfig: { trainingConfigType: "TFEW_TRAINING_CONFIG", totalTrainingEpochs: 40, trainingBatchSize: 8, checkpointEveryNSteps: 2, earlyStoppingPatience: 0 },
      },
    });
    // wait until it has trained past a checkpoint, then kill the worker outright
    await until(async () => (await c.ok("GET", `/20231130/models/${m.id}/metricsHistory`)).items.some((p: { step: number }) => p.step >= 6), "progress", 4000);
    const pid = ex.fineTune.pids.get(m.id)!;
    process.kill(pid, "SIGKILL");
    const done = await c.state(`/20231130/models/${m.id}`, "ACTIVE");
    assert.ok(Number.isFinite(done.modelMetrics.finalLoss));
    const events = (await c.ok("GET", `/20231130/models/${m.id}/events?limit=1000`)).items.map((e: { message: string }) => e.message);
    assert.ok(events.some((e: string) => /SIGKILL.*will resume/.test(e)), JSON.stringify(events));
    assert.ok(events.some((e: string) => /resumed from step [1-9]/.test(e)), "training continued from a checkpoint, not from step 0");
  } finally {
    await svc.close();
  }
});

test("a hosting worker killed with SIGKILL is replaced and its endpoints served again", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sprig-respawn-"));
  const { svc, url } = await serve(dir);
  const key = svc.store.apiKeys.create(["compA"]).key;
  const c = new Client(url, key);
  // this process's children, without the `ps` that lists them
  const children = () =>
    new Set(
      execFileSync("ps", ["-o", "pid=,comm=", "--ppid", String(process.pid)], { encoding: "utf8" })
        .split("\n")
        .map((l) => l.trim().split(/\s+/))
        .filter(([pid, comm]) => pid && comm !== "ps")
        .map(([pid]) => Number(pid)),
    );
  try {
    const base = await c.ok("POST", "/20231130/models", { compartmentId: "compA", modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: TINY } });
    const hc = await c.ok("POST", "/20231130/dedicatedAiClusters", { compartmentId: "compA", type: "HOSTING", unitCount: 1 });
    await c.state(`/20231130/dedicatedAiClusters/${hc.id}`, "ACTIVE");
    const before = children();
    const ep = await c.ok("POST", "/20231130/endpoints", { compartmentId: "compA", modelId: base.id, dedicatedAiClusterId: hc.id });
    await c.state(`/20231130/endpoints/${ep.id}`, "ACTIVE");
    const workers = [...children()].filter((p) => !before.has(p));
    assert.equal(workers.length, 1, "one unit = one worker process");
    process.kill(workers[0]!, "SIGKILL");
    const ask = () => c.call("POST", "/v1/completions", { model: ep.id, prompt: "Q1:", max_tokens: 2, temperature: 0 });
    const r = await until(async () => {
      const x = await ask();
      assert.ok(x.status === 200 || x.status === 503, `while restarting: ${x.status} ${JSON.stringify(x.json)}`);
      return x.status === 200 && x;
    }, "served again", 4000);
    assert.equal(r.json.object, "text_completion");
    assert.equal([...children()].filter((p) => !before.has(p) && p !== workers[0]).length, 1, "a replacement worker runs");
  } finally {
    await svc.close();
  }
});
