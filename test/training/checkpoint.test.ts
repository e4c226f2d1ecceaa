// Checkpoints: a round trip restores tensors, optimizer state and loop position exactly; a crash between
// the two renames of a save (only `checkpoint.old` left) still finds the previous complete checkpoint.

import assert from "node:assert/strict";
import { mkdtempSync, renameSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { CHECKPOINT_VERSION, type Checkpoint, loadCheckpoint, saveCheckpoint } from "../../src/training/checkpoint.ts";

const sample = (step: number): Checkpoint => ({
  state: {
    version: CHECKPOINT_VERSION,
    identity: "abc",
    step,
    epoch: 1,
    batchInEpoch: 2,
    microStep: 7,
    history: [{ step: 2, epoch: 1, trainLoss: 1.5, learningRate: 0.1, tokensPerSecond: 10, validationLoss: 1.25, validationAccuracy: 0.5 }],
    bestValLoss: 1.25,
    evalsWithoutImprovement: 1,
  },
  params: new Map([["a.ia3_l", Float32Array.of(1, Math.fround(0.1), -3e-8)]]),
  slots: new Map([["exp_avg.a.ia3_l", Float32Array.of(0.5, 0.25, 1e-30)]]),
  optimizerStep: step,
});

test("save → load restores every value exactly", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sprig-ck-"));
  assert.equal(await loadCheckpoint(dir), null);
  await saveCheckpoint(dir, sample(3));
  await saveCheckpoint(dir, sample(4)); // replaces the first
  const got = await loadCheckpoint(dir);
  assert.deepEqual(got, sample(4));
  assert.ok(!existsSync(join(dir, "checkpoint.old")), "no leftovers after a clean save");
});

test("a save interrupted between its renames leaves the previous checkpoint loadable", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sprig-ck-"));
  await saveCheckpoint(dir, sample(5));
  renameSync(join(dir, "checkpoint"), join(dir, "checkpoint.old")); // the state right after the first rename
  assert.equal((await loadCheckpoint(dir))!.state.step, 5);
});
