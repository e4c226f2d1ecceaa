// The hyperparameter sweep's report: the best rate is the one with the best mean held-out accuracy over
// the rate stage's datasets (the lower on a tie), the tables mark the auto runs, and the doc's block is
// replaced in place.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { autoBatchSize, autoEpochs } from "../../src/training/auto-hyperparameters.ts";
import type { Method } from "../../src/training/methods.ts";
import { BEGIN, END, type SweepResult, type SweepRun, bestRate, rateMeans, writeSweepReport } from "../../tools/study/sweep-report.ts";

const run = (dataset: string, method: Method, learningRate: number, acc: number, over: Partial<SweepRun> = {}): SweepRun => ({
  id: `${dataset}/${method}/${learningRate}/${over.epochs ?? autoEpochs(96, 8)}`,
  stage: "rate",
  dataset,
  kind: "generation",
  trainExamples: 96,
  method,
  learningRate,
  batchSize: autoBatchSize(96),
  epochs: autoEpochs(96, 8),
  steps: 156,
  heldOutAccuracy: acc,
  heldOutLoss: 1,
  seconds: 1,
  ...over,
});

test("best rate: mean held-out accuracy over the datasets, the lower rate on a tie", () => {
  const runs = [run("a", "tfew", 0.1, 0.5), run("b", "tfew", 0.1, 0.9), run("a", "tfew", 0.3, 0.8), run("b", "tfew", 0.3, 0.7)];
  assert.deepEqual(
    [...rateMeans(runs, "tfew")],
    [
      [0.1, 0.7],
      [0.3, 0.75],
    ],
  );
  assert.equal(bestRate(runs, "tfew"), 0.3);
  assert.equal(bestRate([run("a", "lora", 1e-3, 0.6), run("a", "lora", 3e-3, 0.6)], "lora"), 1e-3);
  assert.throws(() => bestRate(runs, "vanilla"), /no rate-stage runs for vanilla/);
});

test("the report replaces the doc's sweep block and marks the auto runs", () => {
  const dir = mkdtempSync(join(tmpdir(), "sweep-report-"));
  const doc = join(dir, "h.md");
  writeFileSync(doc, `# H\n\nbefore\n\n${BEGIN}\nold table\n${END}\n\nafter\n`);
  const runs: SweepRun[] = [];
  for (const m of ["tfew", "lora", "vanilla"] as const) {
    runs.push(run("facts-96", m, 0.1, 0.6), run("facts-96", m, 0.3, 0.7));
    runs.push(run("facts-96", m, 0.3, 0.75, { stage: "epochs", epochs: 26, steps: 312 }));
    runs.push(run("facts-96", m, 2e-5, 0.2, { stage: "reference", epochs: 8, steps: 96 }));
  }
  const s: SweepResult = { model: "models/x", seed: 0, started: "2026-01-01T00:00:00Z", minutes: 3, runs };
  return writeSweepReport(s, doc).then(() => {
    const text = readFileSync(doc, "utf8");
    assert.ok(text.startsWith("# H\n\nbefore\n\n") && text.endsWith(`${END}\n\nafter\n`), "the text around the block is kept");
    assert.ok(!text.includes("old table"));
    assert.match(text, /\| T-Few \| 0\.00002 \| 96 \| 20\.0% \|/);
    assert.match(text, /\| T-Few \| 0\.1: 60\.0% · 0\.3: 70\.0% \| 0\.3 \|/);
    assert.match(text, /8 × 13 ep \(156 steps\): 70\.0% \*\*auto\*\* · 8 × 26 ep \(312 steps\): 75\.0% \|/);
  });
});
