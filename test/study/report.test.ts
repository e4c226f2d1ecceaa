// The T-Few study's report states each goal's verdict from the measured numbers, and its state-size
// arithmetic follows each optimizer's slots.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { trainingStateBytes } from "../../tools/study/methods.ts";
import { type MethodResult, type StudyResult, writeReport } from "../../tools/study/report.ts";

const method = (label: string, m: string, acc: number, params: number, secs: number): MethodResult => ({
  label,
  method: m,
  testAccuracy: acc,
  exactMatch: null,
  trainableParameters: params,
  wallSeconds: secs,
  stateBytes: params * 16,
  servingBytesPerModel: params * 4,
  steps: 10,
  learningRate: 1e-3,
  optimizer: "adamw",
  batchSize: 8,
  epochs: 1,
  validationCurve: [
    [5, 2],
    [10, 1.5],
  ],
});

test("report: goals met and not met are stated with the measured numbers", async () => {
  const s: StudyResult = {
    model: "m",
    baseParameters: 1_000_000,
    baseBytes: 4_000_000,
    epochs: 1,
    started: "2026-01-01T00:00:00Z",
    minutes: 1,
    tasks: [
      {
        task: "good",
        kind: "choice",
        trainExamples: 100,
        testExamples: 50,
        zeroShot: 0.25,
        fewShot: 0.3,
        zeroShotExact: null,
        fewShotExact: null,
        methods: [method("T-Few", "tfew", 0.9, 500, 6), method("vanilla", "vanilla", 0.95, 1_000_000, 10)],
      },
      {
        task: "bad",
        kind: "generation",
        trainExamples: 100,
        testExamples: 50,
        zeroShot: 0,
        fewShot: 0.5,
        zeroShotExact: 0,
        fewShotExact: 0.1,
        methods: [method("T-Few", "tfew", 0.4, 5000, 9), method("vanilla", "vanilla", 0.8, 1_000_000, 10)],
      },
    ],
  };
  const out = join(mkdtempSync(join(tmpdir(), "study-")), "r");
  await writeReport(s, out);
  const md = readFileSync(`${out}.md`, "utf8");
  assert.match(md, /\| good \| accuracy ≥ 0\.9 × vanilla's \| 90\.0% vs 95\.0% \(×0\.95\) \| met \|/);
  assert.match(md, /\| bad \| accuracy ≥ 0\.9 × vanilla's \| 40\.0% vs 80\.0% \(×0\.50\) \| \*\*not met\*\* \|/);
  assert.match(md, /\| bad \| trainable ≤ 0\.1% of base \| 0\.500% \| \*\*not met\*\* \|/);
  assert.match(md, /\| good \| wall time ≤ 0\.7 × vanilla's \| 6\.0 s vs 10\.0 s \(×0\.60\) \| met \|/);
  assert.ok(existsSync(`${out}-val-loss-good.png`) && readFileSync(`${out}-val-loss-good.png`).subarray(1, 4).toString() === "PNG");
  assert.match(md, /Every method: 1 epochs, the other settings Sprig's defaults/);
  assert.match(md, /\| 8 × 1 \(10\) \|$/m, "batch × epochs (steps) per method");
  // merged from one process per task, and on the auto defaults: both said
  const merged = join(mkdtempSync(join(tmpdir(), "study-")), "r");
  await writeReport({ ...s, epochs: "auto", processes: 2 }, merged);
  const mm = readFileSync(`${merged}.md`, "utf8");
  assert.match(mm, /2 processes side by side, one per task: each task's wall times come from one process/);
  assert.match(mm, /Every method with Sprig's defaults \(`auto` epochs, learning rate and batch size/);
});

test("training state: AdamW keeps 2 moments, Adafactor factors matrices, SGD keeps none", () => {
  assert.equal(trainingStateBytes([[10, 1]], "sgd"), 4 * 20);
  assert.equal(trainingStateBytes([[10, 1]], "adamw"), 4 * 40);
  assert.equal(trainingStateBytes([[10, 4]], "adafactor"), 4 * (80 + 4 + 10));
  assert.equal(trainingStateBytes([[7]], "adafactor"), 4 * 21);
});
