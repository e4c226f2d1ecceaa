// Hyperparameters: OCI names validated strictly, defaults per method, method-specific keys checked.

import assert from "node:assert/strict";
import { test } from "node:test";
import { TrainingConfigError, resolveTrainingConfig } from "../../src/training/config.ts";

test("defaults per method: T-Few Adafactor 3e-3, LoRA AdamW 2e-4, vanilla AdamW 2e-5; batch 8, 3 epochs", () => {
  const t = resolveTrainingConfig("tfew");
  assert.deepEqual([t.optimizer, t.learningRate, t.trainingBatchSize, t.totalTrainingEpochs], ["adafactor", 3e-3, 8, 3]);
  const l = resolveTrainingConfig("lora");
  assert.deepEqual([l.optimizer, l.learningRate, l.loraR, l.loraAlpha], ["adamw", 2e-4, 8, 16]);
  const v = resolveTrainingConfig("vanilla");
  assert.deepEqual([v.optimizer, v.learningRate, v.numOfLastLayers], ["adamw", 2e-5, undefined]);
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
});
