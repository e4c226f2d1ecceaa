// fineTune's onEvaluation: one event per validation pass, as it happens, with the same step, loss and
// accuracy the final history records (the service stores them live, so curves draw while training runs).

import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fineTune } from "../../src/training/finetune.ts";
import { textDataset } from "./helpers.ts";

test("onEvaluation reports every validation pass of the history, between the training steps", async () => {
  const tmp = mkdtempSync(join(tmpdir(), "sprig-eval-"));
  const data = join(tmp, "d.jsonl");
  writeFileSync(data, textDataset(40));
  const seen: Array<{ kind: string; step: number; validationLoss?: number; validationAccuracy?: number; totalSteps: number }> = [];
  const r = await fineTune(
    {
      model: "test/fixtures/models/tiny-llama",
      data,
      method: "tfew",
      out: join(tmp, "out"),
      config: { totalTrainingEpochs: 2, trainingBatchSize: 8, logModelMetricsIntervalInSteps: 3 },
    },
    {
      onProgress: (p) => seen.push({ kind: "step", step: p.step, totalSteps: p.totalSteps }),
      onEvaluation: (e) => seen.push({ kind: "eval", ...e }),
    },
  );
  const evals = seen.filter((s) => s.kind === "eval");
  const expected = r.metrics.history.filter((h) => h.validationLoss !== undefined);
  assert.deepEqual(
    evals.map((e) => e.step),
    [3, 6, 8],
  );
  assert.deepEqual(
    evals.map((e) => [e.step, e.validationLoss, e.validationAccuracy]),
    expected.map((h) => [h.step, h.validationLoss, h.validationAccuracy]),
  );
  for (const e of evals) {
    assert.equal(e.totalSteps, 8);
    const i = seen.indexOf(e);
    assert.deepEqual([seen[i - 1]!.kind, seen[i - 1]!.step], ["step", e.step], "right after its own step");
  }
});
