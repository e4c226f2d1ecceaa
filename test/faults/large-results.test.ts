// Fine-tune results whose size must not matter: a finished run with a > 10 MB metrics history and a data
// report of thousands of bad lines both reach the control plane whole, through the real worker process.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { FineTuneOutcome, FineTuneSpec } from "../../src/control/index.ts";
import { ProcessFineTune } from "../../src/control/workers/process-executors.ts";

const TINY = join(process.cwd(), "test/fixtures/models/tiny-llama");
const root = mkdtempSync(join(tmpdir(), "sprig-large-results-"));
after(() => rmSync(root, { recursive: true, force: true }));

function spec(name: string, dataFile: string): FineTuneSpec {
  const dir = join(root, name);
  return {
    jobId: name,
    baseModelDir: TINY,
    initAdapterDir: null,
    dataFile,
    outputDir: join(dir, "models", name),
    checkpointDir: join(dir, "jobs", name, "checkpoints"),
    method: "tfew",
    trainingConfig: {},
    threads: 1,
    unit: { index: 0, nodeId: "test", cores: [0], memoryBytes: 2 ** 30, pin: false },
  };
}

const run = (s: FineTuneSpec): Promise<FineTuneOutcome> => new ProcessFineTune().start(s, { onProgress() {}, onLog() {} }).done;

test("a finished run with a metrics history larger than 10 MB is recorded as succeeded, with its whole history", async () => {
  const s = spec("big-history", join(root, "unused.jsonl"));
  mkdirSync(s.outputDir, { recursive: true });
  // the worker finds the finished output (as after a server restart) and reports it
  const history = Array.from({ length: 60_000 }, (_, i) => ({
    step: i + 1,
    epoch: 1,
    trainLoss: 1 / (i + 1),
    validationLoss: 0.5,
    validationAccuracy: 0.9,
    note: "x".repeat(100),
  }));
  const metrics = { finalAccuracy: 0.9, finalLoss: 0.125, trainableParameters: 321, history };
  const text = JSON.stringify(metrics);
  assert.ok(text.length > 10 * 1024 * 1024, `the fixture is ${text.length} bytes`);
  writeFileSync(join(s.outputDir, "metrics.json"), text);
  const o = await run(s);
  assert.ok(o.ok, JSON.stringify(o).slice(0, 300));
  assert.equal(o.finalAccuracy, 0.9);
  assert.equal(o.trainableParameters, 321);
  assert.equal(o.history?.length, 60_000);
  assert.deepEqual(o.history?.[59_999], history[59_999]);
});

test("training data with 3,500 bad lines fails with every bad line reported by number", async () => {
  const dataFile = join(root, "bad.jsonl");
  const good = Array.from({ length: 40 }, (_, i) => JSON.stringify({ prompt: `Q${i % 5}:`, completion: ` A${i % 7}` }));
  const bad = Array.from({ length: 3500 }, (_, i) => `{"prompt": "broken ${i}", `);
  writeFileSync(dataFile, [...good, ...bad].join("\n") + "\n");
  const o = await run(spec("bad-lines", dataFile));
  assert.ok(!o.ok, "the job fails");
  assert.equal(o.code, "InvalidTrainingData", o.message);
  assert.ok(!o.crashed, "a data error is not a crash (it is not retried)");
  assert.equal(o.lines?.length, 3500);
  assert.equal(o.lines?.[0]?.line, 41);
  assert.equal(o.lines?.[3499]?.line, 3540);
});
