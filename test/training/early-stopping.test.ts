// Early stopping keeps the parameters of the best evaluation (lowest validation loss), not the last
// step's: the output equals the parameters the run had at that step, its metrics are that evaluation's,
// and a run resumed after the best step still returns them (the checkpoint carries the best copy).

import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadModel } from "../../src/models/index.ts";
import { loadTensors } from "../../src/models/io/safetensors.ts";
import { loadCheckpoint } from "../../src/training/checkpoint.ts";
import type { TrainingConfigInput } from "../../src/training/config.ts";
import { FineTuneAbortedError, fineTune, runDirFor } from "../../src/training/finetune.ts";
import { textDataset } from "./helpers.ts";

const tmp = mkdtempSync(join(tmpdir(), "sprig-es-"));
const DATA = join(tmp, "text.jsonl");
writeFileSync(DATA, textDataset(40));
// plain SGD at a learning rate that overshoots: the validation loss falls, then rises again
const config: TrainingConfigInput = {
  totalTrainingEpochs: 6,
  logModelMetricsIntervalInSteps: 1,
  earlyStoppingPatience: 2,
  earlyStoppingThreshold: 0,
  learningRate: 10,
  optimizer: "sgd",
  warmupRatio: 0,
  maxGradNorm: 0,
};

const adapterTensors = async (dir: string) => {
  const out = new Map<string, Float32Array>();
  for (const [k, t] of await loadTensors(join(dir, "adapter_model.safetensors"))) out.set(k, await t.float32());
  return out;
};

/** The run's trainable tensors right after optimizer step `step` (from the checkpoint an abort writes). */
async function paramsAtStep(model: Awaited<ReturnType<typeof loadModel>>, step: number, cfg = config): Promise<Map<string, Float32Array>> {
  const out = join(tmp, `at-${step}`);
  const ac = new AbortController();
  const e = await fineTune(
    { model, data: DATA, method: "tfew", out, config: cfg },
    { signal: ac.signal, onProgress: (p) => p.step === step && ac.abort() },
  ).catch((x: unknown) => x);
  assert.ok(e instanceof FineTuneAbortedError && e.step === step, String(e));
  return (await loadCheckpoint(runDirFor(out)))!.params;
}

test("early stopping returns the best evaluation's parameters and metrics; a resume after the best step too", async () => {
  const model = await loadModel("test/fixtures/models/tiny-llama");
  const logs: string[] = [];
  const r = await fineTune({ model, data: DATA, method: "tfew", out: join(tmp, "full"), config }, { onLog: (m) => logs.push(m) });
  const m = r.metrics;
  const losses = m.history.map((h) => h.validationLoss!);
  const best = losses.indexOf(Math.min(...losses)) + 1;
  assert.equal(m.stoppedEarly, true);
  assert.ok(best < m.steps, `the validation loss rose after step ${best} (${losses.map((l) => l.toFixed(3)).join(" ")})`);
  assert.equal(m.keptStep, best);
  assert.ok(
    logs.some((l) => l.startsWith(`kept the parameters of step ${best}`)),
    logs.join("\n"),
  );
  // the final metrics are the best evaluation's, measured again on the kept parameters
  assert.ok(Math.abs(m.finalLoss - losses[best - 1]!) < 1e-5, `${m.finalLoss} vs ${losses[best - 1]}`);
  assert.ok(Math.abs(m.finalAccuracy - m.history[best - 1]!.validationAccuracy!) < 1e-9);

  const want = await paramsAtStep(model, best);
  // the same trajectory without early stopping, interrupted after the step where the run stopped
  const last = await paramsAtStep(model, m.steps, { ...config, earlyStoppingPatience: 0 });
  const got = await adapterTensors(join(tmp, "full"));
  assert.equal(got.size, want.size);
  let differsFromLast = false;
  for (const [k, v] of want) {
    assert.deepEqual(got.get(k), v, `${k}: the output holds step ${best}'s values`);
    if (!last.get(k)!.every((x, i) => x === v[i])) differsFromLast = true;
  }
  assert.ok(differsFromLast, "the last step's parameters differ (so the test can tell them apart)");

  // interrupted after the best step: the checkpoint carries the best copy, the resumed run returns it
  const out = join(tmp, "resumed");
  const ac = new AbortController();
  await fineTune(
    { model, data: DATA, method: "tfew", out, config },
    { signal: ac.signal, onProgress: (p) => p.step === best + 1 && ac.abort() },
  ).catch(() => undefined);
  const resumed = await fineTune({ model, data: DATA, method: "tfew", out, config, resume: true });
  assert.equal(resumed.metrics.keptStep, best);
  const again = await adapterTensors(out);
  for (const [k, v] of want) assert.deepEqual(again.get(k), v, `${k} after resume`);
});
