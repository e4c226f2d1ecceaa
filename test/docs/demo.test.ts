// `sprig demo` end to end with the tiny fixture model and small datasets (the real demo, with the bundled
// base model, is run by hand: README.md gives its measured time): the JSON report's contents, the
// narration's steps, kept data directories, and clear failures.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { isCorrect, wordF1 } from "../../src/demo/datasets.ts";
import type { DemoReport } from "../../src/demo/report.ts";
import { TINY_MODEL, tinyTasks } from "./tiny-data.ts";

const run = promisify(execFile);
const BIN = join(process.cwd(), "bin/sprig.mjs");

async function demo(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, "demo", ...args], { maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

test("sprig demo runs the whole workflow and reports it (tiny model, --json)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sprig-demo-test-"));
  const t = tinyTasks(dir);
  const r = await demo(["--model", TINY_MODEL, "--datasets", `${t.choices},${t.words}`, "--epochs", "1", "--eval", "3", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines.length, 1, "with --json stdout holds only the report");
  const rep = JSON.parse(lines[0]!) as DemoReport;

  assert.deepEqual(rep.customModels.map((c) => c.name), ["tiny-choices", "tiny-words"]);
  for (const c of rep.customModels) {
    assert.equal(c.method, "T-Few");
    assert.ok(c.steps >= 1, "trained at least one step");
    assert.ok(Number.isFinite(c.finalLoss) && c.finalAccuracy! >= 0 && c.finalAccuracy! <= 1);
    // (IA)³ on the tiny Llama: l_k + l_v (2 × 2 KV heads × 8) and l_ff (64) per layer, 2 layers
    assert.equal(c.trainableParameters, 192);
    assert.ok(c.trainableShare! > 0 && c.trainableShare! < 0.01);
    assert.ok(c.memoryBytes! > 0 && c.memoryBytes! < rep.memory.baseBytes! / 10, "a custom model costs a sliver of the base");
    assert.ok(c.accuracy.heldOut);
  }
  assert.equal(rep.customModels[0]!.wordF1, null, "answer choices are scored by the first word only");
  assert.ok(rep.customModels[1]!.wordF1!.custom! >= 0 && rep.customModels[1]!.wordF1!.custom! <= 1);
  assert.ok(rep.model.parameters > 30_000);
  // every held-out prompt of both sets went to all three endpoints
  assert.equal(rep.throughput.requests, 3 * 2 * 3);
  assert.deepEqual(Object.keys(rep.accuracy).sort(), ["base", "tiny-choices", "tiny-words"]);
  assert.ok(rep.throughput.completionTokens >= rep.throughput.requests);
  assert.equal(rep.toggle.refusal?.status, 409);
  assert.match(rep.toggle.refusal!.message, /INACTIVE/);
  assert.ok(rep.toggle.othersServed && rep.toggle.servedAgain);

  for (const step of ["Create a FINE_TUNING cluster", "Upload the training data", "Fine-tune 2 custom models with T-Few", "HOSTING cluster", "concurrent requests", "Deactivate and reactivate", "Report"])
    assert.ok(r.stderr.includes(step), `narration has "${step}"`);
  assert.match(r.stderr, /request to tiny-choices → 409/);
  assert.match(r.stderr, /elapsed: /);
  assert.doesNotMatch(r.stderr, /kept in/, "a temporary data directory is not kept");
});

test("sprig demo --data-dir keeps the service's data and says how to serve it again", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sprig-demo-keep-"));
  const t = tinyTasks(dir);
  const data = join(dir, "data");
  const r = await demo(["--model", TINY_MODEL, "--datasets", t.words, "--epochs", "1", "--eval", "2", "--show", "1", "--data-dir", data]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(join(data, "sprig.db")));
  assert.ok(r.stdout.includes(`npx sprig serve --data-dir ${data}`));
  assert.match(r.stdout, /SPRIG_API_KEY=sprig_\S+ npx sprig endpoint list/);
  assert.match(r.stdout, /Fine-tune 1 custom model with T-Few/);
});

test("sprig demo fails clearly: no model directory, bad datasets, data the model cannot take", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sprig-demo-bad-"));
  let r = await demo(["--model", dir]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^sprig: --model: .* is not a Hugging Face model directory \(no config\.json\)\n$/);
  r = await demo(["--model", TINY_MODEL, "--datasets", join(dir, "nothing-here")]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--datasets: .*nothing-here does not exist/);
  // prompts longer than the tiny model's 64-token context: the fine-tune fails with line-numbered errors
  const long = join(dir, "long");
  mkdirSync(long);
  const prompt = Array.from({ length: 60 }, (_, i) => `w${i}`).join(" ");
  writeFileSync(join(long, "train.jsonl"), Array.from({ length: 40 }, () => JSON.stringify({ prompt, completion: " x" })).join("\n"));
  r = await demo(["--model", TINY_MODEL, "--datasets", long, "--epochs", "1"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /sprig: fine-tuning long failed: .*\n {2}line 1: \d+ tokens .* exceed the model's context of 64/);
});

test("sprig demo without --model names the flag when no base model is bundled", { skip: existsSync("models/sprig-base/config.json") && "the base model is bundled" }, async () => {
  const r = await demo([]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, "sprig: no default base model is bundled yet: pass --model DIR\n");
});

test("demo answers are scored: a choice by its first word, a completion exactly or by word overlap", () => {
  const mood = { prompt: "…Answer:", choices: [" happy", " sad"], label: 1 };
  assert.ok(isCorrect(mood, " sad"));
  assert.ok(isCorrect(mood, " Sad. He cried."));
  assert.ok(!isCorrect(mood, " happy"));
  assert.ok(!isCorrect(mood, ""));
  const rec = { prompt: "…Record:", completion: " name: Tom | kind: boy" };
  assert.ok(isCorrect(rec, "name: Tom | kind: boy "));
  assert.ok(!isCorrect(rec, " name: Tom | kind: girl"));
  assert.equal(wordF1(rec, " name: Tom | kind: boy"), 1);
  assert.equal(wordF1(rec, " name: Kai | kind: boy"), 0.75);
  assert.equal(wordF1(rec, "...."), 0);
});
