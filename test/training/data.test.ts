// Training data: JSONL validation (every bad line reported at once), tokenization conventions, the
// seeded split and epoch order, and batch layout (right padding, -100 labels, choice groups).

import assert from "node:assert/strict";
import { test } from "node:test";
import { loadModel } from "../../src/models/index.ts";
import { IGNORE, epochOrder, makeBatch, splitExamples } from "../../src/training/batches.ts";
import { DataError, type Example, parseDataset } from "../../src/training/data.ts";
import { textDataset } from "./helpers.ts";

const model = await loadModel("test/fixtures/models/tiny-llama"); // BOS 1, EOS 2, maxPositions from config
const enc = (s: string) => new TextEncoder().encode(s);
const lines = (...xs: unknown[]) => enc(xs.map((x) => (typeof x === "string" ? x : JSON.stringify(x))).join("\n") + "\n");
const many = (x: object, n = 32) => Array.from({ length: n }, () => x);

test("text examples: prompt gets BOS, completion gets EOS and no BOS", async () => {
  const ex = await parseDataset(lines(...many({ prompt: "one plus one is", completion: " two" })), model);
  assert.equal(ex.length, 32);
  const want = await model.tokenizer!.encode("one plus one is");
  assert.equal(want[0], 1, "the fixture tokenizer adds BOS");
  assert.deepEqual(ex[0]!.prompt, want);
  assert.deepEqual(ex[0]!.completion, [...(await model.tokenizer!.encode(" two", { addSpecialTokens: false })), 2]);
  assert.equal(ex[31]!.line, 32);
});

test("pre-tokenized examples are taken exactly as given; choices keep the labelled one as completion", async () => {
  const ex = await parseDataset(
    lines(
      ...many({ prompt_ids: [1, 5, 6], completion_ids: [7, 8] }, 16),
      ...many({ prompt_ids: [1, 9], choices_ids: [[3], [4, 5]], label: 1 }, 16),
    ),
    model,
  );
  assert.deepEqual(
    [ex[0]!.prompt, ex[0]!.completion],
    [
      [1, 5, 6],
      [7, 8],
    ],
  );
  assert.deepEqual(ex[16]!.choices, [[3], [4, 5]]);
  assert.deepEqual(ex[16]!.completion, [4, 5]);
  assert.equal(ex[16]!.label, 1);
});

test("every bad line is reported with its number and reason, in one DataError", async () => {
  const long = "x ".repeat(model.config.maxPositions);
  const bytes = Buffer.concat([
    lines(
      { prompt: "ok", completion: " fine" }, // 1: good
      "{not json", // 2
      "[1, 2]", // 3
      { prompt: "a", completion: "b", source: "web" }, // 4
      { prompt: "a" }, // 5
      { prompt: 3, completion: "b" }, // 6
      { prompt_ids: [1, 99999], completion_ids: [2] }, // 7
      { prompt: "q", choices: ["a", "b"], label: 2 }, // 8
      { prompt: "q", choices: ["a"], label: 0 }, // 9
      { prompt: long, completion: "b" }, // 10
      { prompt: "a", completion: "" }, // 11
      { prompt: "a", prompt_ids: [1], completion: "b" }, // 12
    ),
    Buffer.from([0xff, 0xfe, 0x0a]), // 13: not UTF-8
    lines({ prompt: "q", choices: ["a", 5], label: 0 }), // 14
  ]);
  const err = await parseDataset(bytes, model).then(
    () => assert.fail("expected a DataError"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof DataError);
  assert.deepEqual(
    err.lines.map((l) => l.line),
    [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
  );
  const reason = (n: number) => err.lines.find((l) => l.line === n)!.reason;
  assert.match(reason(2), /not valid JSON/);
  assert.match(reason(3), /not a JSON object/);
  assert.match(reason(4), /unknown key "source"/);
  assert.match(reason(5), /missing "completion"/);
  assert.match(reason(6), /"prompt" must be a string/);
  assert.match(reason(7), /\[1\] = 99999 is not a token id/);
  assert.match(reason(8), /"label" must be an integer index/);
  assert.match(reason(9), /at least 2 answer choices/);
  assert.match(reason(10), /exceed the model's context/);
  assert.match(reason(11), /empty/);
  assert.match(reason(12), /only one of "prompt" and "prompt_ids"/);
  assert.match(reason(13), /UTF-8/);
  assert.match(reason(14), /choices\[1\] must be a string/);
  assert.match(err.message, /13 bad lines/);
});

test("fewer than 32 examples is an error; blank lines are skipped", async () => {
  await assert.rejects(
    parseDataset(lines(...many({ prompt: "a", completion: "b" }, 31)), model),
    (e: unknown) => e instanceof DataError && /31 examples; at least 32/.test(e.message),
  );
  const ex = await parseDataset(enc(textDataset(32).replace("\n", "\n\n")), model);
  assert.equal(ex.length, 32);
});

test("text needs a tokenizer: a model without one asks for ids", async () => {
  const noTok = { config: model.config, tokenizer: null };
  await assert.rejects(
    parseDataset(lines(...many({ prompt: "a", completion: "b" })), noTok),
    (e: unknown) => e instanceof DataError && e.lines.length === 32 && /prompt_ids/.test(e.lines[0]!.reason),
  );
});

const ex = (n: number): Example[] => Array.from({ length: n }, (_, i) => ({ line: i + 1, prompt: [1, 3 + i], completion: [5] }));

test("split: seeded 80/20, disjoint and complete; 0 holds nothing out; another seed another split", () => {
  const a = splitExamples(ex(50), 0.2, 7);
  assert.equal(a.validation.length, 10);
  assert.equal(a.train.length, 40);
  assert.deepEqual(new Set([...a.train, ...a.validation].map((e) => e.line)).size, 50);
  assert.deepEqual(splitExamples(ex(50), 0.2, 7), a);
  assert.notDeepEqual(splitExamples(ex(50), 0.2, 8).validation, a.validation);
  assert.equal(splitExamples(ex(50), 0, 7).validation.length, 0);
});

test("epoch order: a seeded permutation per epoch, file order without shuffling", () => {
  const o0 = epochOrder(20, 3, 0, true);
  assert.deepEqual(
    [...o0].sort((x, y) => x - y),
    [...Array(20).keys()],
  );
  assert.deepEqual(epochOrder(20, 3, 0, true), o0);
  assert.notDeepEqual(epochOrder(20, 3, 1, true), o0);
  assert.deepEqual(epochOrder(5, 3, 4, false), [0, 1, 2, 3, 4]);
});

test("batch: right padding, labels -100 on prompt and padding, positions 0..T-1", () => {
  const b = makeBatch(
    [
      { line: 1, prompt: [1, 7, 8], completion: [9, 2] },
      { line: 2, prompt: [1, 4], completion: [5] },
    ],
    "labels",
  );
  assert.deepEqual(b.feeds.input_ids!.shape, [2, 5]);
  assert.deepEqual([...(b.feeds.input_ids!.data as BigInt64Array)].map(Number), [1, 7, 8, 9, 2, 1, 4, 5, 0, 0]);
  const I = IGNORE;
  assert.deepEqual([...(b.feeds.labels!.data as BigInt64Array)].map(Number), [I, I, I, 9, 2, I, I, 5, I, I]);
  assert.deepEqual([...(b.feeds.position_ids!.data as BigInt64Array)].map(Number), [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
  assert.equal(b.tokens, 3);
  assert.equal(b.realTokens, 8);
});

test("scored batch: flat indices b·(T-1)+t of the positions that predict completion tokens, and those tokens", () => {
  const b = makeBatch(
    [
      { line: 1, prompt: [1, 7, 8], completion: [9, 2] },
      { line: 2, prompt: [1, 4], completion: [5] },
    ],
    "scored",
  );
  assert.equal(b.feeds.labels, undefined);
  // T = 5: row 0 predicts 9 from position 2 and 2 from 3; row 1 predicts 5 from position 1 → 4 + 1
  assert.deepEqual([...(b.feeds.score_index!.data as BigInt64Array)].map(Number), [2, 3, 5]);
  assert.deepEqual([...(b.feeds.score_labels!.data as BigInt64Array)].map(Number), [9, 2, 5]);
});

test("choice batch: one row per choice, groups by index, padding slots masked, correct rows marked", () => {
  const b = makeBatch(
    [
      { line: 1, prompt: [1, 7], completion: [4], choices: [[3], [4], [5, 6]], label: 1 },
      { line: 2, prompt: [1, 8], completion: [9] },
    ],
    "choices",
  );
  assert.equal(b.rows, 4);
  assert.deepEqual([...(b.feeds.choice_index!.data as BigInt64Array)].map(Number), [0, 1, 2, 3, 0, 0]);
  assert.deepEqual([...(b.feeds.choice_valid!.data as Float32Array)], [1, 1, 1, 1, 0, 0]);
  assert.deepEqual([...(b.feeds.choice_label!.data as BigInt64Array)].map(Number), [1, 0]);
  assert.deepEqual([...(b.feeds.row_correct!.data as Float32Array)], [0, 1, 0, 1]);
  assert.equal(b.tokens, 2, "scored tokens of the correct choices");
});
