// Fine-tuning a custom model further: the run starts from the parent's adapter (same kind and layout),
// and anything else is refused with a clear error before training.

import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadAdapter } from "../../src/adapters/peft-io.ts";
import { loadModel } from "../../src/models/index.ts";
import { FineTuneError, fineTune } from "../../src/training/finetune.ts";
import { textDataset } from "./helpers.ts";

const MODEL = "test/fixtures/models/tiny-llama";
const dir = mkdtempSync(join(tmpdir(), "sprig-init-"));
const data = join(dir, "data.jsonl");
writeFileSync(data, textDataset(32, 9));
const quiet = { totalTrainingEpochs: 1, trainingBatchSize: 8, validationSplit: 0, checkpointEveryNSteps: 0 };

test("a T-Few run continues its parent adapter; another kind or layout is refused", async () => {
  const model = await loadModel(MODEL);
  const parentDir = join(dir, "parent");
  await fineTune({ model, data, method: "tfew", out: parentDir, config: { ...quiet, learningRate: 0.3 }, threads: 1 });
  const parent = await loadAdapter(parentDir, model.config);
  const moved = [...parent.tensors.values()].some((t) => t.data.some((v) => Math.abs(v - 1) > 1e-3));
  assert.ok(moved, "the parent adapter learned something");

  // with a negligible learning rate the child stays where the parent ended, not at the fresh value 1
  const childDir = join(dir, "child");
  await fineTune({
    model,
    data,
    method: "tfew",
    out: childDir,
    config: { ...quiet, learningRate: 1e-12 },
    initAdapter: parentDir,
    threads: 1,
  });
  const child = await loadAdapter(childDir, model.config);
  for (const [k, t] of parent.tensors) {
    const c = child.tensors.get(k)!.data;
    t.data.forEach((v, i) => assert.ok(Math.abs(c[i]! - v) < 1e-6, `${k}[${i}]: ${c[i]} vs parent ${v}`));
  }

  await assert.rejects(
    fineTune({ model, data, method: "lora", out: join(dir, "lora-child"), config: quiet, initAdapter: parentDir, threads: 1 }),
    (e: Error) => e instanceof FineTuneError && /is IA3; a lora fine-tune continues only a LORA adapter/.test(e.message),
  );
  await assert.rejects(
    fineTune({ model, data, method: "vanilla", out: join(dir, "vanilla-child"), config: quiet, initAdapter: parentDir, threads: 1 }),
    /cannot start from an adapter/,
  );
});
