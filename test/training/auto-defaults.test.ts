// Defaults that learn: T-Few given only data and a method ("auto" epochs, learning rate and batch size) on
// the kind of task — 96 prompt → completion examples of 12 short invented facts — on the bundled
// base model, seeded. The run must end well above the base model on its validation split, and record
// what auto resolved to.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createIa3 } from "../../src/adapters/ia3.ts";
import { compile } from "../../src/engine/index.ts";
import { loadModel } from "../../src/models/index.ts";
import { autoBatchSize, autoEpochs, autoLearningRate } from "../../src/training/auto-hyperparameters.ts";
import { splitExamples } from "../../src/training/batches.ts";
import { parseDataset } from "../../src/training/data.ts";
import { fineTune } from "../../src/training/finetune.ts";
import { paramFeeds } from "../../src/training/method-setup.ts";
import { evaluate } from "../../src/training/metrics.ts";
import { buildTrainGraph } from "../../src/training/train-graph.ts";
import { toJsonl } from "../../tools/tasks/task.ts";
import { factsTask } from "../../tools/study/sweep-data.ts";

test("T-Few with only data and a method learns 12 facts from 96 examples (auto defaults, sprig-base)", async () => {
  const model = await loadModel("models/sprig-base");
  const tmp = mkdtempSync(join(tmpdir(), "sprig-auto-"));
  const data = join(tmp, "facts.jsonl");
  writeFileSync(data, toJsonl(factsTask().train));

  // the base model on the validation split the run will hold out (the trainer's split, same seed)
  const { validation, train } = splitExamples(await parseDataset(readFileSync(data), model), 0.2, 0);
  const ia3 = createIa3(model.config);
  const tg = buildTrainGraph(model, { method: "tfew", adapter: ia3, choices: false, scoredOnly: true, withGrads: false });
  const graph = await compile(tg.graph);
  const before = await evaluate(graph, validation, 8, "scored", paramFeeds(tg, new Map([...ia3.tensors].map(([k, v]) => [k, v.data]))));
  await graph.dispose();

  const { metrics } = await fineTune({ model, data, method: "tfew", out: join(tmp, "out"), config: { checkpointEveryNSteps: 0 } });
  assert.equal(metrics.evaluatedOn, "validation");
  assert.equal(metrics.validationExamples, validation.length);
  const n = train.length;
  assert.deepEqual(metrics.auto?.resolved, {
    trainingBatchSize: autoBatchSize(n),
    totalTrainingEpochs: autoEpochs(n, autoBatchSize(n)),
    learningRate: autoLearningRate(
      "tfew",
      [...model.weights.values()].reduce((a, w) => a + w.data.length, 0),
    ),
  });
  assert.equal(metrics.auto?.sizeClass, "small");
  assert.ok(before.accuracy < 0.3, `the base model does not know the facts (${before.accuracy})`);
  // the old fixed defaults (3e-3, 3 epochs) left this kind of task at ~20%; auto must learn it
  assert.ok(
    metrics.finalAccuracy >= before.accuracy + 0.35,
    `validation accuracy ${metrics.finalAccuracy.toFixed(3)} vs the base model's ${before.accuracy.toFixed(3)}`,
  );
  const written = JSON.parse(readFileSync(join(tmp, "out", "metrics.json"), "utf8")) as typeof metrics;
  assert.deepEqual(written.auto, metrics.auto, "metrics.json records the resolution");
});
