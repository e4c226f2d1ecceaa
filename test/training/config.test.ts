// Hyperparameters: OCI names validated strictly, defaults per method, method-specific keys checked.

import assert from "node:assert/strict";
import { test } from "node:test";
import { AUTO_LEARNING_RATE, autoBatchSize, autoEpochs } from "../../src/training/auto-hyperparameters.ts";
import { NOMINAL_DATA, TrainingConfigError, resolveTrainingConfig, trainingConfigSpec } from "../../src/training/config.ts";

test("defaults per method: T-Few Adafactor, LoRA and vanilla AdamW; epochs, learning rate and batch size auto", () => {
  const t = trainingConfigSpec("tfew");
  assert.deepEqual([t.optimizer, t.learningRate, t.trainingBatchSize, t.totalTrainingEpochs], ["adafactor", "auto", "auto", "auto"]);
  const l = trainingConfigSpec("lora");
  assert.deepEqual([l.optimizer, l.learningRate, l.loraR, l.loraAlpha], ["adamw", "auto", 8, 16]);
  const v = trainingConfigSpec("vanilla");
  assert.deepEqual([v.optimizer, v.learningRate, v.numOfLastLayers, v.weightDecay], ["adamw", "auto", undefined, 0.01]);
});

test("resolveTrainingConfig resolves auto for the data it is given (nominal data without)", () => {
  const data = { trainExamples: 40, baseParameters: 5e6 };
  const c = resolveTrainingConfig("tfew", {}, data);
  assert.equal(c.trainingBatchSize, autoBatchSize(40));
  assert.equal(c.totalTrainingEpochs, autoEpochs(40, autoBatchSize(40)));
  assert.equal(c.learningRate, AUTO_LEARNING_RATE.tfew.small);
  const nominal = resolveTrainingConfig("lora");
  assert.equal(nominal.trainingBatchSize, autoBatchSize(NOMINAL_DATA.trainExamples));
  assert.equal(nominal.learningRate, AUTO_LEARNING_RATE.lora.small);
  assert.equal(typeof resolveTrainingConfig("vanilla", { totalTrainingEpochs: "auto" }).totalTrainingEpochs, "number");
});

test("given values override defaults", () => {
  const c = resolveTrainingConfig("lora", { learningRate: 1e-3, loraR: 4, optimizer: "sgd", validationSplit: 0 });
  assert.deepEqual([c.learningRate, c.loraR, c.optimizer, c.validationSplit], [1e-3, 4, "sgd", 0]);
});

test("unknown keys, bad values and keys of another method are rejected with their names", () => {
  assert.throws(
    () => resolveTrainingConfig("tfew", { learningrate: 1 }),
    (e: unknown) => e instanceof TrainingConfigError && /unknown key "learningrate" \(did you mean "learningRate"\?\)/.test(e.message),
  );
  assert.throws(() => resolveTrainingConfig("tfew", { colour: "red" }), /unknown key "colour"$/);
  assert.throws(
    () => resolveTrainingConfig("tfew", { trainingBatchSize: 0 }),
    (e: unknown) => e instanceof TrainingConfigError && /trainingBatchSize/.test(e.message),
  );
  assert.throws(() => resolveTrainingConfig("tfew", { totalTrainingEpochs: 1.5 }), /totalTrainingEpochs/);
  assert.throws(() => resolveTrainingConfig("tfew", { loraR: 8 }), /loraR applies to lora only/);
  assert.throws(() => resolveTrainingConfig("lora", { numOfLastLayers: 2 }), /numOfLastLayers applies to vanilla only/);
  assert.throws(() => resolveTrainingConfig("vanilla", { optimizer: "rmsprop" }), /optimizer/);
  assert.throws(() => resolveTrainingConfig("tfew", { learningRate: "fast" }), /learningRate: .*"auto"/);
  assert.throws(() => resolveTrainingConfig("tfew", { totalTrainingEpochs: "Auto" }), /totalTrainingEpochs/);
});
