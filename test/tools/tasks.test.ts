// The bundled fine-tuning tasks: committed files are exactly what tools/tasks generates, every line is a
// valid example of the trainer's format, splits are disjoint and sized, and answers follow from prompts.

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { loadModel } from "../../src/models/index.ts";
import { parseDataset } from "../../src/training/data.ts";
import { DEMOS, TASKS, TEST_SIZE, TRAIN_SIZE, buildTask } from "../../tools/tasks/main.ts";
import { type Example, toJsonl } from "../../tools/tasks/task.ts";

const ALL = [
  ...TASKS.map((t) => ({ name: t.name, task: t, train: TRAIN_SIZE, test: TEST_SIZE, prefix: "" })),
  ...DEMOS.map((d) => ({ ...d, prefix: "demo-" })),
];
const read = (name: string, split: string): Example[] =>
  readFileSync(`data/tasks/${name}/${split}.jsonl`, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Example);

test("at least three tasks, one with answer choices, plus two demo sets", () => {
  assert.ok(TASKS.length >= 3);
  assert.ok(TASKS.some((t) => "choices" in read(t.name, "train")[0]!));
  assert.equal(DEMOS.length, 2);
});

for (const t of ALL) {
  test(`${t.name}: committed files are what the generator writes`, () => {
    const files = buildTask(t.task, t.train, t.test, t.prefix);
    assert.equal(readFileSync(`data/tasks/${t.name}/train.jsonl`, "utf8"), toJsonl(files.train));
    assert.equal(readFileSync(`data/tasks/${t.name}/test.jsonl`, "utf8"), toJsonl(files.test));
    assert.ok(existsSync(`data/tasks/${t.name}/README.md`));
  });

  test(`${t.name}: well-formed, sized, disjoint splits`, () => {
    const train = read(t.name, "train");
    const testSet = read(t.name, "test");
    assert.ok(train.length >= (t.prefix ? 64 : 100) && train.length <= 1000, `train ${train.length}`);
    assert.ok(testSet.length >= (t.prefix ? 32 : 100) && testSet.length <= 200, `test ${testSet.length}`);
    const trainPrompts = new Set(train.map((e) => e.prompt));
    assert.equal(trainPrompts.size, train.length, "duplicate train prompts");
    assert.equal(testSet.filter((e) => trainPrompts.has(e.prompt)).length, 0, "test prompts seen in training");
    for (const e of [...train, ...testSet]) {
      assert.ok(e.prompt.length > 0 && !/\s$/.test(e.prompt), "prompts end right before the answer");
      if ("choices" in e) {
        assert.deepEqual(Object.keys(e).sort(), ["choices", "label", "prompt"]);
        assert.ok(Number.isInteger(e.label) && e.label >= 0 && e.label < e.choices.length);
        assert.ok(e.choices.every((c) => /^ \S/.test(c)));
      } else {
        assert.deepEqual(Object.keys(e).sort(), ["completion", "prompt"]);
        assert.match(e.completion, /^ \S/);
      }
    }
    if ("choices" in train[0]!) {
      const labels = new Set(train.map((e) => ("label" in e ? e.label : -1)));
      assert.equal(labels.size, train[0].choices.length, "every label occurs");
    }
  });
}

test("answers follow from the prompts", () => {
  for (const e of read("story-qa", "train")) {
    if ("choices" in e) assert.fail("story-qa is prompt/completion");
    const story = e.prompt.slice(0, e.prompt.indexOf("\nQuestion:"));
    const answer = e.completion.trim().replace(/^an? /, "");
    assert.ok(story.includes(answer), `${answer} not in: ${story}`);
  }
  for (const e of read("char-record", "train")) {
    if ("choices" in e) assert.fail("char-record is prompt/completion");
    const fields = Object.fromEntries(
      e.completion
        .trim()
        .split(" | ")
        .map((f) => f.split(": ") as [string, string]),
    );
    assert.deepEqual(Object.keys(fields), ["name", "kind", "mood", "place", "thing"]);
    for (const k of ["name", "kind", "thing"]) assert.ok(e.prompt.includes(fields[k]!), `${k} ${fields[k]}`);
    assert.ok(e.prompt.includes(fields.place!.replace(/^the /, "")));
  }
  for (const e of read("past-tense", "train")) {
    if ("choices" in e) assert.fail("past-tense is prompt/completion");
    const present = e.prompt.slice("Present: ".length, -"\nPast:".length).split(" ");
    const past = e.completion.trim().split(" ");
    assert.equal(past.length, present.length, "only verbs change");
    assert.notEqual(e.completion.trim(), present.join(" "));
  }
});

// With the shipped model: the trainer's own parser accepts every file, and every example fits the context.
test(
  "the trainer accepts every task file for the shipped base model",
  { skip: !existsSync("models/sprig-base/config.json") && "no models/sprig-base yet" },
  async () => {
    const model = await loadModel("models/sprig-base");
    for (const t of ALL)
      for (const split of ["train", "test"]) await parseDataset(readFileSync(`data/tasks/${t.name}/${split}.jsonl`), model);
  },
);
