// "auto" epochs, learning rate and batch size: the documented rules for several dataset sizes, model size
// classes and methods, given settings kept, and what metrics.json records.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  AUTO_BATCH,
  AUTO_LEARNING_RATE,
  MAX_EPOCHS,
  MIN_EPOCHS,
  TARGET_STEPS,
  autoBatchSize,
  autoEpochs,
  resolveAuto,
  sizeClassOf,
} from "../../src/training/auto-hyperparameters.ts";
import { resolveTrainingConfigAuto, trainingConfigSpec } from "../../src/training/config.ts";

const SMALL = 5.08e6; // sprig-base
const SMOL = 134.5e6; // SmolLM2-135M

test("batch size by training-split size: 4 up to 64 examples, 8 up to 2000, then 16", () => {
  assert.deepEqual([25, 64, 65, 77, 200, 800, 2000, 2001, 50_000].map(autoBatchSize), [4, 4, 8, 8, 8, 8, 8, 16, 16]);
});

test("epochs: about TARGET_STEPS optimizer steps, within MIN_EPOCHS..MAX_EPOCHS", () => {
  assert.equal(TARGET_STEPS, 150);
  // 26 examples (32 after the 80/20 split) at batch 4: 7 steps an epoch → 22 epochs, 154 steps
  assert.equal(autoEpochs(26, 4), 22);
  // the 96-example facts task: 77 training examples at batch 8 → 10 steps an epoch → 15 epochs
  assert.equal(autoEpochs(77, 8), 15);
  // 400 (500 before the split): 50 steps an epoch → 3 epochs
  assert.equal(autoEpochs(400, 8), 3);
  // 800 (1000): 100 steps an epoch → 2 epochs, the lower bound
  assert.equal(autoEpochs(800, 8), MIN_EPOCHS);
  assert.equal(autoEpochs(100_000, 16), MIN_EPOCHS);
  assert.equal(autoEpochs(1, 4), MAX_EPOCHS, "one step an epoch: capped");
  // accumulation makes steps of several micro-batches: fewer steps an epoch, more epochs
  assert.equal(autoEpochs(400, 8, 2), 6);
  for (const n of [26, 77, 200, 400]) {
    const b = autoBatchSize(n);
    const steps = autoEpochs(n, b) * Math.ceil(n / b);
    assert.ok(steps >= TARGET_STEPS && steps < TARGET_STEPS + Math.ceil(n / b), `${n} examples: ${steps} steps`);
  }
});

test("learning rate per method and base-model size class", () => {
  assert.deepEqual([sizeClassOf(SMALL), sizeClassOf(SMOL), sizeClassOf(1.7e9)], ["small", "medium", "large"]);
  const at = (p: number) => resolveTrainingConfigAuto("tfew", {}, { trainExamples: 100, baseParameters: p }).config.learningRate;
  assert.deepEqual(
    [at(SMALL), at(SMOL), at(3e9)],
    [AUTO_LEARNING_RATE.tfew.small, AUTO_LEARNING_RATE.tfew.medium, AUTO_LEARNING_RATE.tfew.large],
  );
  for (const m of ["tfew", "lora", "vanilla"] as const) {
    const r = AUTO_LEARNING_RATE[m];
    assert.ok(r.small > r.medium && r.medium > r.large, `${m}: smaller rates for larger models`);
  }
  // each method's own scale: (IA)³ vectors start at 1 and move far, full weights only a little
  assert.ok(
    AUTO_LEARNING_RATE.tfew.small > AUTO_LEARNING_RATE.lora.small && AUTO_LEARNING_RATE.lora.small > AUTO_LEARNING_RATE.vanilla.small,
  );
});

test("resolution: only the auto settings change, and each is recorded with its rule", () => {
  const spec = trainingConfigSpec("lora", { learningRate: 5e-4, trainingBatchSize: "auto" });
  const { config, auto } = resolveAuto(spec, { method: "lora", trainExamples: 40, baseParameters: SMALL });
  assert.equal(config.learningRate, 5e-4, "a given rate is kept");
  assert.equal(config.trainingBatchSize, 4);
  assert.equal(config.totalTrainingEpochs, autoEpochs(40, 4));
  assert.deepEqual(auto.resolved, { trainingBatchSize: 4, totalTrainingEpochs: autoEpochs(40, 4) });
  assert.equal(auto.trainExamples, 40);
  assert.equal(auto.sizeClass, "small");
  assert.equal(auto.rules.length, 2);
  assert.match(auto.rules[1]!, /^totalTrainingEpochs 15: ~150 steps at 10 per epoch/);
  // the epochs follow a given batch size
  const given = resolveAuto(trainingConfigSpec("tfew", { trainingBatchSize: 16 }), {
    method: "tfew",
    trainExamples: 400,
    baseParameters: SMALL,
  });
  assert.equal(given.config.totalTrainingEpochs, autoEpochs(400, 16));
  assert.equal(given.auto.resolved.trainingBatchSize, undefined);
  // nothing auto: nothing resolved
  const none = resolveAuto(trainingConfigSpec("vanilla", { learningRate: 1e-4, trainingBatchSize: 8, totalTrainingEpochs: 3 }), {
    method: "vanilla",
    trainExamples: 400,
    baseParameters: SMALL,
  });
  assert.deepEqual([none.auto.resolved, none.auto.rules], [{}, []]);
  assert.deepEqual([none.config.learningRate, none.config.trainingBatchSize, none.config.totalTrainingEpochs], [1e-4, 8, 3]);
});

test("docs/hyperparameters.md states the rules the code applies", () => {
  const doc = readFileSync("docs/hyperparameters.md", "utf8");
  const rows = doc.split("\n").filter((l) => /^\| (small|medium|large) \(/.test(l));
  assert.equal(rows.length, 3, "one row per size class");
  for (const row of rows) {
    const [name, ...rates] = row
      .slice(1, -1)
      .split("|")
      .map((c) => c.trim());
    const cls = name!.split(" ")[0] as "small" | "medium" | "large";
    assert.deepEqual(
      rates.map(Number),
      [AUTO_LEARNING_RATE.tfew[cls], AUTO_LEARNING_RATE.lora[cls], AUTO_LEARNING_RATE.vanilla[cls]],
      name,
    );
  }
  const batch = AUTO_BATCH.map((r) => r.batch);
  assert.ok(
    doc.includes(
      `| \`trainingBatchSize\` | ${batch[0]} up to ${AUTO_BATCH[0]!.upTo} training examples, ${batch[1]} up to 2,000, ${batch[2]} above |`,
    ),
  );
  assert.ok(
    doc.includes(
      `about ${TARGET_STEPS} optimizer steps: ⌈${TARGET_STEPS} ÷ steps per epoch⌉, at least ${MIN_EPOCHS} and at most ${MAX_EPOCHS}`,
    ),
  );
});
