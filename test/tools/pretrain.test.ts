// Pre-training code on a tiny model (seconds, not the real run): batches are a function of the step,
// the loss falls, an interrupted and resumed run ends with exactly the weights of an uninterrupted one,
// and the exported directory loads with the project's loader and tokenizer.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type SprigTokenizer, loadModel, loadTokenizer } from "../../src/models/index.ts";
import { corpusDocuments } from "../../tools/corpus/corpus.ts";
import { countWords, trainBpe } from "../../tools/tokenizer/bpe-trainer.ts";
import { SPECIAL_TOKENS, writeTokenizer } from "../../tools/tokenizer/tokenizer-files.ts";
import { evaluateModel } from "../../tools/pretrain/evaluate.ts";
import { exportModel } from "../../tools/pretrain/export.ts";
import { initWeights, paramCount } from "../../tools/pretrain/init.ts";
import { BatchOrder, type Chunks, packDocuments } from "../../tools/pretrain/packing.ts";
import { BASE_RUN, type ModelShape, type RunSettings, modelConfig } from "../../tools/pretrain/plan.ts";
import { pretrain } from "../../tools/pretrain/trainer.ts";

const SHAPE: ModelShape = { hiddenSize: 32, numLayers: 2, numHeads: 4, numKvHeads: 2, intermediateSize: 64, context: 32, ropeTheta: 10000 };
const RUN: RunSettings = {
  ...BASE_RUN,
  steps: 24,
  batchSize: 4,
  peakLr: 1e-2,
  warmupSteps: 4,
  evalEvery: 8,
  evalBatches: 2,
  checkpointEvery: 5,
  threads: 1,
};

let dir: string;
let tok: SprigTokenizer;
let train: Chunks;
let valid: Chunks;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "sprig-pretrain-"));
  const docs = (split: "train" | "valid", n: number) => [...corpusDocuments(1, split, Infinity, n)].map((d) => d.text);
  const trainDocs = docs("train", 300);
  writeTokenizer(join(dir, "tok"), trainBpe(countWords(trainDocs), { vocabSize: 400, specialTokens: SPECIAL_TOKENS }), SHAPE.context);
  tok = loadTokenizer(join(dir, "tok"))!;
  train = await packDocuments(trainDocs, tok, SHAPE.context);
  valid = await packDocuments(docs("valid", 20), tok, SHAPE.context);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("documents are packed as <s> text </s> into full chunks", async () => {
  assert.equal(train.tokens.length, train.count * SHAPE.context);
  assert.equal(train.tokens[0], tok.bosTokenId);
  const firstEos = train.tokens.indexOf(tok.eosTokenId!);
  assert.ok(firstEos > 10);
  assert.equal(train.tokens[firstEos + 1], tok.bosTokenId);
  const firstDoc = corpusDocuments(1, "train", Infinity, 1).next().value!.text;
  assert.equal(tok.decode([...train.tokens.slice(1, firstEos)]), firstDoc);
});

test("batches: every chunk once per epoch, the same for the same seed and step", () => {
  const order = new BatchOrder(10, 4, 3);
  const seen = [0, 1, 2, 3, 4].flatMap((s) => order.batch(s)); // 20 = two epochs
  assert.deepEqual(
    [...seen.slice(0, 10)].sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  assert.deepEqual(
    [...seen.slice(10)].sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  assert.notDeepEqual(seen.slice(0, 10), seen.slice(10));
  assert.deepEqual(new BatchOrder(10, 4, 3).batch(3), order.batch(3));
  assert.notDeepEqual(new BatchOrder(10, 4, 4).batch(0), order.batch(0));
});

test("initialisation is seeded and scaled", () => {
  const config = modelConfig(SHAPE, 400);
  const a = initWeights(config, 5);
  assert.deepEqual(initWeights(config, 5).get("model.layers.1.mlp.up_proj.weight")!.data, a.get("model.layers.1.mlp.up_proj.weight")!.data);
  assert.notDeepEqual(initWeights(config, 6).get("model.embed_tokens.weight")!.data, a.get("model.embed_tokens.weight")!.data);
  assert.ok(a.get("model.norm.weight")!.data.every((v) => v === 1));
  const std = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
  assert.ok(Math.abs(std(a.get("model.embed_tokens.weight")!.data) - 0.02) < 0.002);
  assert.ok(Math.abs(std(a.get("model.layers.0.self_attn.o_proj.weight")!.data) - 0.01) < 0.0015); // 0.02 / sqrt(2·2)
  assert.equal(a.has("lm_head.weight"), false); // tied embeddings
  assert.equal(paramCount(a), 400 * 32 + 2 * (32 * 32 * 2 + 32 * 16 * 2 + 3 * 32 * 64 + 2 * 32) + 32);
});

test("the loss falls; a stopped and resumed run ends with the uninterrupted run's weights", async () => {
  const job = { shape: SHAPE, run: RUN, vocabSize: tok.vocabSize, train, valid };
  const whole = await pretrain({ ...job, workdir: join(dir, "whole"), resume: false });
  assert.ok(whole.done);
  const steps = whole.log.filter((e) => e.type === "step");
  assert.equal(steps.length, RUN.steps);
  const first = steps.slice(0, 3).reduce((a, e) => a + e.loss, 0) / 3;
  const last = steps.slice(-3).reduce((a, e) => a + e.loss, 0) / 3;
  assert.ok(last < first - 0.5, `loss ${first} -> ${last}`);
  assert.ok(whole.finalValidLoss < Math.log(tok.vocabSize) - 0.5, `held-out ${whole.finalValidLoss}`); // uniform: ln(vocab)

  const part = await pretrain({ ...job, workdir: join(dir, "split"), resume: false, stopAfter: 11 });
  assert.equal(part.done, false);
  await assert.rejects(pretrain({ ...job, workdir: join(dir, "split"), resume: false }), /--resume/);
  await assert.rejects(pretrain({ ...job, run: { ...RUN, peakLr: 1 }, workdir: join(dir, "split"), resume: true }), /another run/);
  const rest = await pretrain({ ...job, workdir: join(dir, "split"), resume: true });
  assert.ok(rest.done);
  assert.deepEqual(
    rest.log.map((e) => (e.type === "step" ? [e.step, e.loss] : [e.step])),
    whole.log.map((e) => (e.type === "step" ? [e.step, e.loss] : [e.step])),
  );
  for (const [k, w] of whole.weights) assert.deepEqual(rest.weights.get(k)!.data, w.data, k);
  assert.equal(rest.finalValidLoss, whole.finalValidLoss);

  const out = join(dir, "model");
  await exportModel(out, SHAPE, tok.vocabSize, whole.weights, join(dir, "tok"));
  const m = await loadModel(out);
  assert.equal(m.tokenizer?.vocabSize, tok.vocabSize);
  assert.equal(m.config.tieWordEmbeddings, true);
  const shipped = await evaluateModel(m, valid, 4, 1);
  assert.ok(Math.abs(shipped.loss - whole.finalValidLoss) < 0.01, `float16 ${shipped.loss} vs float32 ${whole.finalValidLoss}`);
});
