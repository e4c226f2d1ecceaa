// fineTune() as the service calls it: resume after an abort ends bit-identical to an uninterrupted run,
// frozen weights stay bit-identical, numOfLastLayers, gradient accumulation, early stopping, outputs.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { baseFingerprint } from "../../src/adapters/fingerprint.ts";
import { loadTensors } from "../../src/models/io/safetensors.ts";
import { loadModel } from "../../src/models/index.ts";
import type { TrainingConfigInput } from "../../src/training/config.ts";
import { DataError } from "../../src/training/data.ts";
import { FineTuneAbortedError, FineTuneError, fineTune, runDirFor } from "../../src/training/finetune.ts";
import type { Method } from "../../src/training/train-graph.ts";
import { choiceDataset, textDataset } from "./helpers.ts";

const MODEL = "test/fixtures/models/tiny-llama";
const tmp = mkdtempSync(join(tmpdir(), "sprig-ft-"));
const TEXT = join(tmp, "text.jsonl");
const CHOICES = join(tmp, "choices.jsonl");
writeFileSync(TEXT, textDataset(40));
writeFileSync(CHOICES, choiceDataset(40));
let n = 0;
const outDir = () => join(tmp, `out-${n++}`);
const base: TrainingConfigInput = { totalTrainingEpochs: 2, logModelMetricsIntervalInSteps: 3, checkpointEveryNSteps: 4 };

/** Every tensor of a run's output (adapter or model). */
async function outputTensors(dir: string): Promise<Map<string, Float32Array>> {
  const file = existsSync(join(dir, "adapter_model.safetensors")) ? "adapter_model.safetensors" : "model.safetensors";
  const out = new Map<string, Float32Array>();
  for (const [k, t] of await loadTensors(join(dir, file))) out.set(k, await t.float32());
  return out;
}

const cases: Array<[string, Method, string, TrainingConfigInput]> = [
  ["T-Few (Adafactor)", "tfew", TEXT, { learningRate: 3e-2 }],
  ["T-Few with answer choices", "tfew", CHOICES, { learningRate: 3e-2 }],
  ["LoRA with dropout (AdamW)", "lora", TEXT, { learningRate: 1e-2, loraDropout: 0.2 }],
  ["vanilla, last layer (AdamW)", "vanilla", TEXT, { learningRate: 1e-3, numOfLastLayers: 1 }],
];

for (const [name, method, data, extra] of cases) {
  test(`${name}: abort after 5 steps + resume ends bit-identical to an uninterrupted run`, async () => {
    const model = await loadModel(MODEL);
    const config = { ...base, ...extra };
    const full = await fineTune({ model, data, method, out: outDir(), config });
    const out = outDir();
    const ac = new AbortController();
    const aborted = await fineTune(
      { model, data, method, out, config },
      { signal: ac.signal, onProgress: (p) => p.step === 5 && ac.abort() },
    ).then(
      () => assert.fail("expected an abort"),
      (e: unknown) => e,
    );
    assert.ok(aborted instanceof FineTuneAbortedError && aborted.step === 5, String(aborted));
    assert.ok(!existsSync(out), "no output before the run completes");
    assert.ok(existsSync(join(runDirFor(out), "checkpoint")));
    const resumed = await fineTune({ model, data, method, out, config, resume: true });
    assert.ok(!existsSync(runDirFor(out)), "the run directory is gone after completion");
    assert.equal(resumed.metrics.steps, full.metrics.steps);
    const strip = (h: typeof full.metrics.history) => h.map(({ tokensPerSecond: _t, ...rest }) => rest);
    assert.deepEqual(strip(resumed.metrics.history), strip(full.metrics.history));
    const [a, b] = [await outputTensors(full.outDir), await outputTensors(out)];
    assert.deepEqual([...a.keys()], [...b.keys()]);
    for (const [k, v] of a) assert.deepEqual(b.get(k), v, `${k} differs after resume`);
    assert.ok(full.metrics.finalLoss < full.metrics.history[0]!.trainLoss, "training lowered the loss");
  });
}

test("a run aborted before its first step resumes from step 0 to the uninterrupted result", async () => {
  const model = await loadModel(MODEL);
  const config: TrainingConfigInput = { totalTrainingEpochs: 1, learningRate: 3e-2 };
  const full = await fineTune({ model, data: TEXT, method: "tfew", out: outDir(), config });
  const out = outDir();
  await assert.rejects(
    fineTune({ model, data: TEXT, method: "tfew", out, config }, { signal: AbortSignal.abort() }),
    (e: unknown) => e instanceof FineTuneAbortedError && e.step === 0,
  );
  const resumed = await fineTune({ model, data: TEXT, method: "tfew", out, config, resume: true });
  assert.equal(resumed.metrics.finalLoss, full.metrics.finalLoss);
  assert.deepEqual(await outputTensors(out), await outputTensors(full.outDir));
});

test("frozen weights stay bit-identical; vanilla numOfLastLayers 1 changes only the last layer", async () => {
  const model = await loadModel(MODEL);
  const before = new Map([...model.weights].map(([k, w]) => [k, Float32Array.from(w.data)]));
  await fineTune({ model, data: TEXT, method: "tfew", out: outDir(), config: { totalTrainingEpochs: 1, learningRate: 0.1 } });
  const r = await fineTune({
    model,
    data: TEXT,
    method: "vanilla",
    out: outDir(),
    config: { totalTrainingEpochs: 1, learningRate: 1e-2, numOfLastLayers: 1 },
  });
  for (const [k, w] of model.weights) assert.deepEqual(w.data, before.get(k), `base weight ${k} changed in memory`);
  const saved = await outputTensors(r.outDir);
  assert.deepEqual(new Set(saved.keys()), new Set(model.weights.keys()));
  let trained = 0;
  for (const [k, v] of saved) {
    if (k.startsWith("model.layers.1.")) {
      assert.notDeepEqual(v, before.get(k), `${k} is in the last layer and should have trained`);
      trained++;
    } else assert.deepEqual(v, before.get(k), `${k} is frozen`);
  }
  assert.equal(trained, 9, "every weight of layer 1 trained");
  assert.equal(
    r.metrics.trainableParameters,
    [...before].filter(([k]) => k.startsWith("model.layers.1.")).reduce((s, [, v]) => s + v.length, 0),
  );
  const loaded = await loadModel(r.outDir);
  assert.ok(loaded.tokenizer, "the tokenizer files came along");
});

test("LoRA dropout masks are fed: with dropout the run differs from one without, same seed", async () => {
  const model = await loadModel(MODEL);
  const config: TrainingConfigInput = { totalTrainingEpochs: 1, learningRate: 1e-2 };
  const plain = await fineTune({ model, data: TEXT, method: "lora", out: outDir(), config: { ...config, loraDropout: 0 } });
  const dropped = await fineTune({ model, data: TEXT, method: "lora", out: outDir(), config: { ...config, loraDropout: 0.3 } });
  const [a, b] = [await outputTensors(plain.outDir), await outputTensors(dropped.outDir)];
  assert.ok(
    [...a].some(([k, v]) => k.includes("lora_B") && v.some((x, i) => x !== b.get(k)![i])),
    "dropout changed the updates",
  );
});

test("gradient accumulation: 2 micro-batches of 16 make the same SGD step as one batch of 32", async () => {
  const model = await loadModel(MODEL);
  const common: TrainingConfigInput = {
    totalTrainingEpochs: 1,
    optimizer: "sgd",
    learningRate: 0.5,
    validationSplit: 0,
    shuffle: false,
    maxGradNorm: 0,
  };
  const data = join(tmp, "32.jsonl");
  writeFileSync(data, textDataset(32, 5));
  const one = await fineTune({ model, data, method: "tfew", out: outDir(), config: { ...common, trainingBatchSize: 32 } });
  const two = await fineTune({
    model,
    data,
    method: "tfew",
    out: outDir(),
    config: { ...common, trainingBatchSize: 16, gradientAccumulationSteps: 2 },
  });
  assert.equal(one.metrics.steps, 1);
  assert.equal(two.metrics.steps, 1);
  const [a, b] = [await outputTensors(one.outDir), await outputTensors(two.outDir)];
  let moved = 0;
  for (const [k, v] of a) {
    v.forEach((x, i) => assert.ok(Math.abs(x - b.get(k)![i]!) < 1e-6, `${k}[${i}]: ${x} vs ${b.get(k)![i]}`));
    moved = Math.max(moved, ...v.map((x) => Math.abs(x - 1)));
  }
  assert.ok(moved > 1e-3, "the step moved the vectors");
});

test("early stopping ends the run when the validation loss stops improving by the threshold", async () => {
  const r = await fineTune({
    model: MODEL,
    data: TEXT,
    method: "tfew",
    out: outDir(),
    config: {
      totalTrainingEpochs: 5,
      trainingBatchSize: 8,
      logModelMetricsIntervalInSteps: 1,
      earlyStoppingPatience: 2,
      earlyStoppingThreshold: 100,
    },
  });
  assert.equal(r.metrics.stoppedEarly, true);
  assert.equal(r.metrics.steps, 3, "1 evaluation sets the best, 2 more without improvement stop");
  assert.equal(r.metrics.totalSteps, 20);
});

test("outputs: PEFT adapter files, fingerprint, metrics.json; an existing --out is refused, bad data trains nothing", async () => {
  const model = await loadModel(MODEL);
  const out = outDir();
  const r = await fineTune({ model, data: TEXT, method: "tfew", out, config: { totalTrainingEpochs: 1 } });
  const cfg = JSON.parse(readFileSync(join(out, "adapter_config.json"), "utf8")) as Record<string, unknown>;
  assert.equal(cfg.peft_type, "IA3");
  assert.deepEqual(cfg.feedforward_modules, ["down_proj"]);
  const meta = JSON.parse(readFileSync(join(out, "sprig_adapter.json"), "utf8")) as { baseFingerprint: string };
  assert.equal(meta.baseFingerprint, baseFingerprint(model.config, model.weights));
  const metrics = JSON.parse(readFileSync(join(out, "metrics.json"), "utf8")) as typeof r.metrics;
  assert.deepEqual(metrics, r.metrics);
  assert.ok(metrics.finalAccuracy >= 0 && metrics.finalAccuracy <= 1 && metrics.finalLoss > 0 && metrics.history.length > 0);
  assert.equal(metrics.evaluatedOn, "validation");
  // one history entry per step; validation every logModelMetricsIntervalInSteps (10) and at the end
  assert.deepEqual(
    metrics.history.map((h) => h.step),
    [...Array(metrics.steps).keys()].map((i) => i + 1),
  );
  assert.deepEqual(
    metrics.history.filter((h) => h.validationLoss !== undefined).map((h) => h.step),
    [...Array(Math.floor(metrics.steps / 10)).keys()].map((i) => 10 * (i + 1)).concat(metrics.steps % 10 ? [metrics.steps] : []),
  );
  assert.equal(metrics.history.at(-1)!.validationLoss, metrics.finalLoss);
  await assert.rejects(fineTune({ model, data: TEXT, method: "tfew", out }), FineTuneError);
  const bad = join(tmp, "bad.jsonl");
  writeFileSync(bad, `${textDataset(40)}{"prompt": 1}\n`);
  const out2 = outDir();
  await assert.rejects(
    fineTune({ model, data: bad, method: "lora", out: out2 }),
    (e: unknown) => e instanceof DataError && e.lines[0]!.line === 41,
  );
  assert.ok(!existsSync(out2) && !existsSync(runDirFor(out2)), "nothing written");
  await assert.rejects(fineTune({ model, data: TEXT, method: "lora", out: outDir(), resume: true }), /nothing to resume/);
});
