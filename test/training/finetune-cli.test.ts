// `sprig finetune` as a user runs it on the tiny-llama fixture: the three methods train, save and reload
// (generate --adapter, or the vanilla model directory), Ctrl-C + --resume, one exact SGD step, data errors.

import assert from "node:assert/strict";
import { type SpawnSyncReturns, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadModel } from "../../src/models/index.ts";
import { loadTensors } from "../../src/models/io/safetensors.ts";
import { evaluate } from "../../src/engine/reference/index.ts";
import { createIa3 } from "../../src/adapters/ia3.ts";
import { makeBatch } from "../../src/training/batches.ts";
import { parseDataset } from "../../src/training/data.ts";
import { fineTune } from "../../src/training/finetune.ts";
import { forwardAll } from "../../src/serving/model-runner.ts";
import { paramFeeds } from "../../src/training/method-setup.ts";
import { buildTrainGraph } from "../../src/training/train-graph.ts";
import { textDataset } from "./helpers.ts";

const MODEL = "test/fixtures/models/tiny-llama";
const tmp = mkdtempSync(join(tmpdir(), "sprig-ft-cli-"));
const DATA = join(tmp, "data.jsonl");
writeFileSync(DATA, textDataset(40, 3));
const sprig = (...args: string[]): SpawnSyncReturns<string> =>
  spawnSync(process.execPath, ["bin/sprig.mjs", ...args], { encoding: "utf8" });
const lastJson = (r: SpawnSyncReturns<string>) => JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, unknown>;

for (const method of ["tfew", "lora", "vanilla"] as const) {
  test(`finetune --method ${method}: trains, prints metrics JSON, and the result generates`, async () => {
    const out = join(tmp, `cli-${method}`);
    const lr = { tfew: "3e-2", lora: "1e-2", vanilla: "1e-3" }[method];
    const r = sprig(
      "finetune",
      "--model",
      MODEL,
      "--data",
      DATA,
      "--method",
      method,
      "--out",
      out,
      "--epochs",
      "2",
      "--learning-rate",
      lr,
      "--batch-size",
      "4",
      "--json",
    );
    assert.equal(r.status, 0, r.stderr);
    const m = lastJson(r);
    assert.equal(typeof m.finalAccuracy, "number");
    assert.equal(typeof m.finalLoss, "number");
    assert.ok(Array.isArray(m.history) && m.history.length > 0);
    assert.match(r.stderr, /step 1\/16 epoch 1 loss/, "plain progress lines when not on a terminal");
    const withResult = method === "vanilla" ? ["--model", out] : ["--model", MODEL, "--adapter", out];
    const gen = sprig("generate", ...withResult, "--prompt", "two plus one is", "--max-tokens", "3", "--temperature", "0", "--json");
    assert.equal(gen.status, 0, gen.stderr);
    assert.ok(["stop", "length"].includes(lastJson(gen).finishReason as string));
    // the reloaded result is really applied: its logits differ from the base model's
    const logits = (args: string[]) => lastJson(sprig("forward", ...args, "--ids", "1,40,50,60", "--json")).logits as number[][];
    const plain = (await forwardAll(await loadModel(MODEL), [1, 40, 50, 60])).flatMap((r) => Array.from(r));
    assert.ok(
      logits(withResult)
        .flat()
        .some((v, i) => Math.abs(v - plain[i]!) > 1e-3),
      "trained logits differ from the base",
    );
  });
}

test("Ctrl-C writes a checkpoint; --resume finishes with the parameters of an uninterrupted run", async () => {
  const args = [
    "--model",
    MODEL,
    "--data",
    DATA,
    "--method",
    "lora",
    "--epochs",
    "60",
    "--batch-size",
    "8",
    "--learning-rate",
    "1e-3",
    "--checkpoint-every",
    "0",
    "--log-every",
    "1000",
  ];
  const out = join(tmp, "cli-resume");
  const child = spawn(process.execPath, ["bin/sprig.mjs", "finetune", ...args, "--out", out], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  const done = new Promise<number | null>((res) => child.on("close", res));
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    if (!stderr.includes("step 3/") && (stderr + d).includes("step 3/")) child.kill("SIGINT");
    stderr += d;
  });
  const code = await done;
  assert.equal(code, 130, stderr);
  assert.match(stderr, /interrupted after step \d+; continue with the same command and --resume/);
  const resumed = sprig("finetune", ...args, "--out", out, "--resume", "--json");
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /resumed from step \d+/);
  const ref = await fineTune({
    model: MODEL,
    data: DATA,
    method: "lora",
    out: join(tmp, "lib-resume-ref"),
    config: {
      totalTrainingEpochs: 60,
      trainingBatchSize: 8,
      learningRate: 1e-3,
      checkpointEveryNSteps: 0,
      logModelMetricsIntervalInSteps: 1000,
    },
  });
  const [a, b] = [
    await loadTensors(join(out, "adapter_model.safetensors")),
    await loadTensors(join(ref.outDir, "adapter_model.safetensors")),
  ];
  for (const [k, t] of a) assert.deepEqual(await t.float32(), await b.get(k)!.float32(), k);
});

test("one SGD step on the whole dataset as one batch gives exactly 1 - lr·grad (gradient from the float64 reference)", async () => {
  const data = join(tmp, "sgd.jsonl");
  writeFileSync(data, textDataset(32, 9));
  const out = join(tmp, "cli-sgd");
  const lr = 0.5;
  const r = sprig(
    "finetune",
    "--model",
    MODEL,
    "--data",
    data,
    "--method",
    "tfew",
    "--out",
    out,
    "--optimizer",
    "sgd",
    "--val-split",
    "0",
    "--no-shuffle",
    "--batch-size",
    "32",
    "--epochs",
    "1",
    "--learning-rate",
    String(lr),
    "--max-grad-norm",
    "0",
  );
  assert.equal(r.status, 0, r.stderr);
  // the gradient at the fresh adapter (all ones), computed independently in float64
  const model = await loadModel(MODEL);
  const examples = await parseDataset(Buffer.from(textDataset(32, 9)), model);
  const adapter = createIa3(model.config);
  const tg = buildTrainGraph(model, { method: "tfew", adapter, withGrads: true });
  const params = new Map([...adapter.tensors].map(([k, t]) => [k, t.data]));
  const ref = evaluate(tg.graph, { ...makeBatch(examples, "labels").feeds, ...paramFeeds(tg, params) });
  const saved = await loadTensors(join(out, "adapter_model.safetensors"));
  let largest = 0;
  for (const k of tg.trainable) {
    const got = await saved.get(k)!.float32();
    const g = ref[`grad.${k}`]!.data;
    got.forEach((v, i) => assert.ok(Math.abs(v - (1 - lr * g[i]!)) < 1e-5, `${k}[${i}]: ${v} vs ${1 - lr * g[i]!}`));
    largest = Math.max(largest, ...Array.from(g, Math.abs));
  }
  assert.ok(largest * lr > 1e-3, "the step is large enough to be seen");
});

test("bad data: every bad line printed with its number, non-zero exit, nothing written", () => {
  const data = join(tmp, "bad.jsonl");
  writeFileSync(data, `${textDataset(40)}{"prompt": "x"}\n\n{"prompt": "x", "completion": 5}\n`);
  const out = join(tmp, "cli-bad");
  const r = sprig("finetune", "--model", MODEL, "--data", data, "--method", "tfew", "--out", out);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /2 bad lines/);
  assert.match(r.stderr, /line 41: missing "completion"/);
  assert.match(r.stderr, /line 43: "completion" must be a string/);
  const bad = sprig("finetune", "--model", MODEL, "--data", DATA, "--method", "tfew", "--out", out, "--lora-r", "4");
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /loraR applies to lora only/);
  const cfg = join(tmp, "config.json");
  writeFileSync(cfg, JSON.stringify({ learningRate: 0.01, totalTrainingEpoch: 2 }));
  const typo = sprig("finetune", "--model", MODEL, "--data", DATA, "--method", "tfew", "--out", out, "--config", cfg);
  assert.notEqual(typo.status, 0);
  assert.match(typo.stderr, /invalid training config: unknown key "totalTrainingEpoch" \(did you mean "totalTrainingEpochs"\?\)/);
});
