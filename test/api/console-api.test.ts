// The public API the console needs beyond the resources: checking training data before a fine-tune
// (POST /actions/validateTrainingData), per-endpoint usage counters (GET /endpoints/{id}/usage), every
// method's hyperparameter defaults (GET /trainingConfigDefaults) and a BASE model's parameterCount.

import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { test } from "node:test";
import { expectedTensors, loadHfConfig } from "../../src/models/index.ts";
import { trainingConfigSpec } from "../../src/training/config.ts";
import { until } from "../control/fakes.ts";
import { type ApiHarness, apiHarness, auth } from "./helpers.ts";

const TINY = "test/fixtures/models/tiny-llama";
const lines = (n: number) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ prompt: `Q${i % 5}:`, completion: ` A${i % 7}` })).join("\n") + "\n";

async function inject(h: ApiHarness, method: "GET" | "POST" | "PUT", url: string, payload?: unknown, key = h.keyA) {
  const headers = { ...auth(key), ...(typeof payload === "string" ? { "content-type": "application/jsonl" } : {}) };
  const r = await h.svc.app.inject({ method, url, headers, payload: payload as string });
  return { status: r.statusCode, json: r.body ? r.json() : null };
}

const base = async (h: ApiHarness) =>
  (
    await inject(h, "POST", "/20231130/models", {
      compartmentId: "compA",
      modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: TINY },
    })
  ).json;
const dataset = (objectName: string) => ({ datasetType: "OBJECT_STORAGE", namespaceName: "ns", bucketName: "b", objectName });

test("validateTrainingData: the fine-tune's own checks, every bad line by number, nothing trains", async () => {
  const h = await apiHarness();
  try {
    const m = await base(h);
    await inject(h, "PUT", "/n/ns/b/b/o/good.jsonl", lines(40));
    await inject(h, "PUT", "/n/ns/b/b/o/bad.jsonl", `${lines(33)}{"prompt": 1}\nnot json\n`);
    await inject(h, "PUT", "/n/ns/b/b/o/short.jsonl", lines(10));
    const check = (objectName: string, key = h.keyA) =>
      inject(h, "POST", "/20231130/actions/validateTrainingData", { baseModelId: m.id, trainingDataset: dataset(objectName) }, key);

    assert.deepEqual((await check("good.jsonl")).json, { isValid: true, exampleCount: 40, minExamples: 32, message: null, errors: [] });
    const bad = (await check("bad.jsonl")).json;
    assert.equal(bad.isValid, false);
    assert.equal(bad.exampleCount, 33, "the valid lines are counted");
    assert.equal(bad.message, "2 bad lines in the training data; nothing was trained");
    assert.deepEqual(
      bad.errors.map((e: { line: number }) => e.line),
      [34, 35],
    );
    assert.match(bad.errors[1].reason, /^not valid JSON/);
    const short = (await check("short.jsonl")).json;
    assert.deepEqual([short.isValid, short.exampleCount, short.errors], [false, 10, []]);
    assert.match(short.message, /has 10 examples; at least 32 are needed/);

    assert.equal((await check("missing.jsonl")).status, 404);
    assert.equal((await check("good.jsonl", h.keyB)).status, 404, "another compartment sees neither the model nor the bucket");
    const extra = await inject(h, "POST", "/20231130/actions/validateTrainingData", {
      baseModelId: m.id,
      trainingDataset: dataset("good.jsonl"),
      colour: 1,
    });
    assert.deepEqual([extra.status, extra.json.message], [400, "body.colour: unknown field"]);
    assert.equal(h.ft.started.length, 0, "checking starts no fine-tune");
  } finally {
    await h.svc.close();
  }
});

test("endpoint usage: generations and tokens served, requests refused while INACTIVE; scoped like the endpoint", async () => {
  const h = await apiHarness();
  try {
    const m = await base(h);
    const c = (await inject(h, "POST", "/20231130/dedicatedAiClusters", { compartmentId: "compA", type: "HOSTING", unitCount: 1 })).json;
    await until(async () => (await inject(h, "GET", `/20231130/dedicatedAiClusters/${c.id}`)).json.lifecycleState === "ACTIVE", "cluster");
    const e = (
      await inject(h, "POST", "/20231130/endpoints", {
        compartmentId: "compA",
        modelId: m.id,
        dedicatedAiClusterId: c.id,
        displayName: "ep",
      })
    ).json;
    await until(async () => (await inject(h, "GET", `/20231130/endpoints/${e.id}`)).json.lifecycleState === "ACTIVE", "endpoint");
    const usage = async () => (await inject(h, "GET", `/20231130/endpoints/${e.id}/usage`)).json;
    const fresh = await usage();
    assert.deepEqual(
      { ...fresh, since: undefined },
      {
        endpointId: e.id,
        since: undefined,
        generations: 0,
        failedGenerations: 0,
        refusedRequests: 0,
        promptTokens: 0,
        completionTokens: 0,
      },
    );
    assert.ok(!Number.isNaN(Date.parse(fresh.since)));

    // the fake pool echoes "echo a b" cut to max_tokens and counts those 2 words as prompt tokens too; n = 2 is two generations
    const r = await inject(h, "POST", "/v1/completions", { model: "ep", prompt: "a b", max_tokens: 2, n: 2 });
    assert.equal(r.status, 200);
    await inject(h, "POST", `/20231130/endpoints/${e.id}/actions/deactivate`);
    await until(async () => (await inject(h, "GET", `/20231130/endpoints/${e.id}`)).json.lifecycleState === "INACTIVE", "inactive");
    assert.equal((await inject(h, "POST", "/v1/completions", { model: "ep", prompt: "a", max_tokens: 2 })).status, 409);
    const after = await usage();
    assert.deepEqual(
      [after.generations, after.promptTokens, after.completionTokens, after.refusedRequests, after.failedGenerations],
      [2, 4, 4, 1, 0],
    );
    assert.equal(after.since, fresh.since);
    assert.equal((await inject(h, "GET", `/20231130/endpoints/${e.id}/usage`, undefined, h.keyB)).status, 404);
  } finally {
    await h.svc.close();
  }
});

test("trainingConfigDefaults: what a fine-tune uses for each left-out field, per method", async () => {
  const h = await apiHarness();
  try {
    const items = (await inject(h, "GET", "/20231130/trainingConfigDefaults")).json.items as Record<string, unknown>[];
    assert.deepEqual(
      items.map((i) => i.trainingConfigType),
      ["TFEW_TRAINING_CONFIG", "LORA_TRAINING_CONFIG", "VANILLA_TRAINING_CONFIG"],
    );
    const methods = ["tfew", "lora", "vanilla"] as const;
    for (const [i, item] of items.entries()) {
      const resolved = trainingConfigSpec(methods[i]!) as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(item)) if (k !== "trainingConfigType") assert.equal(v, resolved[k], `${methods[i]}.${k}`);
    }
    assert.equal(items[0]!.learningRate, "auto", "auto: resolved from the dataset when the run starts");
    assert.equal(items[0]!.earlyStoppingPatience, 15);
    assert.ok(!("loraR" in items[0]!) && items[1]!.loraR === 8 && !("loraR" in items[2]!), "LoRA's fields only for LoRA");
  } finally {
    await h.svc.close();
  }
});

test("a BASE model's parameterCount is the number of its weights, artifactBytes the size of its weight files", async () => {
  const h = await apiHarness();
  try {
    const m = await base(h);
    const shapes = [...expectedTensors(await loadHfConfig(TINY)).values()];
    assert.equal(
      m.parameterCount,
      shapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0),
    );
    assert.ok(m.parameterCount > 0);
    assert.equal(m.artifactBytes, statSync(`${TINY}/model.safetensors`).size, "the weight files' bytes");
  } finally {
    await h.svc.close();
  }
});
