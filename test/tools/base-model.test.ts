// The shipped base model (models/sprig-base), when present: a valid Hugging Face directory within the size
// budget, trained (held-out loss far below a random model's), and usable by `sprig generate`.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { test } from "node:test";
import { loadModel } from "../../src/models/index.ts";
import { DEFAULT_SEED, corpusDocuments } from "../../tools/corpus/corpus.ts";
import { evaluateModel } from "../../tools/pretrain/evaluate.ts";
import { packDocuments } from "../../tools/pretrain/packing.ts";

const DIR = "models/sprig-base";
const skip = !existsSync(`${DIR}/config.json`) && "models/sprig-base is not built yet";

test("the base model directory is complete, Llama-shaped and at most 30 MB", { skip }, async () => {
  for (const f of [
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "README.md",
    "train_loss.csv",
    "eval_loss.csv",
    "loss_curve.png",
    "training_summary.json",
  ])
    assert.ok(existsSync(`${DIR}/${f}`), f);
  const total = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"].reduce(
    (a, f) => a + statSync(`${DIR}/${f}`).size,
    0,
  );
  assert.ok(total <= 30e6, `${total} bytes`);
  const m = await loadModel(DIR);
  assert.equal(m.config.family, "llama");
  assert.ok(m.config.numKvHeads < m.config.numHeads, "grouped-query attention");
  assert.ok(m.config.maxPositions >= 256);
  const params = [...m.weights.values()].reduce((a, w) => a + w.data.length, 0);
  assert.ok(params >= 5e6 && params <= 30e6, `${params} parameters`);
  assert.equal(m.tokenizer!.vocabSize, m.config.vocabSize);
  assert.equal(m.tokenizer!.bosTokenId, 1);
  assert.equal(m.tokenizer!.eosTokenId, 2);
  const summary = JSON.parse(readFileSync(`${DIR}/training_summary.json`, "utf8")) as {
    parameters: number;
    heldOut: { float16Loss: number };
  };
  assert.equal(summary.parameters, params);
  assert.ok(
    readFileSync(`${DIR}/README.md`, "utf8").includes(summary.heldOut.float16Loss.toFixed(4)),
    "the card states the measured held-out loss",
  );
});

test("the base model is trained: held-out loss far below a random model's", { skip }, async () => {
  const m = await loadModel(DIR);
  const docs = [...corpusDocuments(DEFAULT_SEED, "valid", Infinity, 40)].map((d) => d.text);
  const chunks = await packDocuments(docs, m.tokenizer!, 256);
  const { loss } = await evaluateModel(m, { ...chunks, count: Math.min(chunks.count, 16) }, 8, 2);
  assert.ok(loss < 2.5, `held-out loss ${loss} (uniform: ${Math.log(m.config.vocabSize).toFixed(2)})`);
});

test("sprig generate runs the base model", { skip }, () => {
  const out = execFileSync(
    "node",
    ["bin/sprig.mjs", "generate", "--model", DIR, "--prompt", "Once upon a time", "--max-tokens", "8", "--temperature", "0", "--json"],
    { encoding: "utf8" },
  );
  const r = JSON.parse(out) as { ids: number[]; text: string; finishReason: string };
  assert.ok(r.ids.length >= 1 && r.ids.length <= 8);
  assert.ok(r.text.trim().length > 0);
});
