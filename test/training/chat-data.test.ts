// Chat training lines ({"messages": […]}): rendered with the model's chat template, loss on the assistant
// turns only (weight 0 turns and the template's text between turns unscored), line-numbered refusals, and
// a fine-tune on chat data with a separate validation file.

import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadModel } from "../../src/models/index.ts";
import { IGNORE, makeBatch } from "../../src/training/batches.ts";
import { TrainingConfigError } from "../../src/training/config.ts";
import { DataError, type Example, parseDataset } from "../../src/training/data.ts";
import { fineTune } from "../../src/training/finetune.ts";
import { textDataset } from "./helpers.ts";

const model = await loadModel("test/fixtures/models/tiny-llama"); // its template: <|role|>\ncontent</s>\n, BOS first
const tok = model.tokenizer!;
const jsonl = (...xs: unknown[]) => Buffer.from(xs.map((x) => (typeof x === "string" ? x : JSON.stringify(x))).join("\n") + "\n");
const one = async (x: unknown) => (await parseDataset(jsonl(x), model, { minExamples: 1 }))[0]!;
const scoredText = (e: Example) => e.completion.map((t, i) => (e.scored![i] ? tok.decode([t]) : "·")).join("");
const reasons = async (bytes: Buffer, m: Parameters<typeof parseDataset>[1] = model) => {
  const err = await parseDataset(bytes, m, { minExamples: 1 }).then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(err instanceof DataError, String(err));
  return err.lines;
};

const conv = [
  { role: "user", content: "hi" },
  { role: "assistant", content: "hello" },
  { role: "user", content: "bye" },
  { role: "assistant", content: "see you" },
];

test("a conversation: the prompt is what the chat endpoint feeds, every assistant turn is scored and nothing else", async () => {
  const e = await one({ messages: conv });
  // the prompt is the first turn's generation prompt, tokenized as the hosting worker's encodeChat does
  assert.deepEqual(e.prompt, await tok.encodeChat(conv.slice(0, 1), { addGenerationPrompt: true }));
  assert.deepEqual([...e.prompt, ...e.completion], await tok.encodeChat(conv));
  // the turns' text with its end-of-turn marker (EOS in this template) is scored; the next user turn is not
  const turns = scoredText(e).split(/·+/).filter(Boolean);
  assert.deepEqual(turns, ["hello</s>\n", "see you</s>\n"]);
  assert.ok(e.completion.includes(tok.eosTokenId!), "the model learns to stop: EOS is among the scored tokens");
  assert.ok(
    e.scored!.some((s) => !s),
    "the second user turn is in the row but unscored",
  );
});

test("weight 0 assistant turns are context only; a conversation ends at its last trained turn", async () => {
  const e = await one({ messages: [conv[0], { ...conv[1], weight: 0 }, conv[2], conv[3], { role: "user", content: "and more" }] });
  assert.deepEqual(scoredText(e).split(/·+/).filter(Boolean), ["see you</s>\n"]);
  assert.deepEqual([...e.prompt, ...e.completion], await tok.encodeChat(conv), "the trailing user turn is dropped");
  // a system message is part of the prompt
  const s = await one({ messages: [{ role: "system", content: "be brief" }, conv[0], conv[1]] });
  assert.ok(tok.decode(s.prompt).includes("be brief"));
});

test("batches: chat examples label only their scored tokens, in both the labels and the scored layouts", async () => {
  const e = await one({ messages: conv });
  const plain = (await parseDataset(jsonl({ prompt: "one", completion: " two" }), model, { minExamples: 1 }))[0]!;
  const nScored = e.scored!.filter(Boolean).length;
  const lb = makeBatch([e, plain], "labels");
  const labels = [...(lb.feeds.labels!.data as BigInt64Array)].map(Number);
  const T = lb.length;
  const row0 = labels.slice(0, T);
  assert.equal(row0.filter((l) => l !== IGNORE).length, nScored);
  e.completion.forEach((t, i) => assert.equal(row0[e.prompt.length + i], e.scored![i] ? t : IGNORE));
  assert.equal(lb.tokens, nScored + plain.completion.length);
  const sb = makeBatch([e, plain], "scored");
  assert.equal(sb.feeds.score_index!.shape[0], nScored + plain.completion.length);
  assert.equal(sb.tokens, lb.tokens);
  // the choices layout (T-Few's, when a file mixes choice lines in) keeps the same mask
  const cb = makeBatch([e], "choices");
  assert.equal([...(cb.feeds.labels!.data as BigInt64Array)].filter((l) => Number(l) !== IGNORE).length, nScored);
});

test("chat lines and prompt/completion lines mix in one file, in file order", async () => {
  const ex = await parseDataset(jsonl({ prompt: "a", completion: " b" }, { messages: conv }, { prompt: "c", completion: " d" }), model, {
    minExamples: 1,
  });
  assert.deepEqual(
    ex.map((e) => [e.line, e.scored !== undefined]),
    [
      [1, false],
      [2, true],
      [3, false],
    ],
  );
});

test("bad chat lines: every one reported with its line number and reason", async () => {
  const lines = await reasons(
    jsonl(
      { messages: conv, prompt: "x" },
      { messages: [] },
      { messages: [{ role: "robot", content: "x" }, conv[1]] },
      { messages: [conv[0], { role: "assistant", content: 3 }] },
      { messages: [conv[0]] },
      { messages: [conv[0], { role: "assistant", content: "" }] },
      { messages: [{ ...conv[0], weight: 1 }, conv[1]] },
      { messages: [conv[0], { ...conv[1], name: "bot" }] },
      { messages: [conv[0], { ...conv[1], content: "word ".repeat(80) }] },
      { messages: ["hi"] },
    ),
  );
  assert.deepEqual(
    lines.map((l) => [l.line, l.reason]),
    [
      [1, `"messages" comes alone: remove "prompt"`],
      [2, `"messages" must be a non-empty list of {"role", "content"}`],
      [3, `messages[0].role must be one of "system", "user", "assistant", found "robot"`],
      [4, "messages[1].content must be a string"],
      [5, `"messages" has no assistant message to learn from (with weight 1)`],
      [6, "messages[1] is an empty assistant message: there is nothing to learn"],
      [7, "messages[0].weight must be 0 or 1, and only on assistant messages"],
      [8, `messages[1]: unknown key "name" (a message has "role", "content" and, for assistant turns, "weight")`],
      [9, lines[8]!.reason],
      [10, `messages[0] must be an object {"role", "content"}`],
    ],
  );
  assert.match(lines[8]!.reason, /^\d+ tokens \(prompt \d+ \+ completion \d+\) exceed the model's context of 64$/);
});

test("a model without a chat template, or without a tokenizer, refuses chat lines clearly", async () => {
  const noTemplate = { config: model.config, tokenizer: Object.assign(Object.create(tok) as typeof tok, { chatTemplate: null }) };
  const a = await reasons(jsonl({ prompt: "a", completion: " b" }, { messages: conv }), noTemplate);
  assert.deepEqual(
    a.map((l) => l.line),
    [2],
  );
  assert.match(a[0]!.reason, /needs the model's chat template, and this model has none .*give "prompt" and "completion" instead/);
  const b = await reasons(jsonl({ messages: conv }), { config: model.config, tokenizer: null });
  assert.match(b[0]!.reason, /no tokenizer\.json/);
});

test("a template that rewrites earlier turns is refused (its turns cannot be told apart), as is one that fails", async () => {
  const fake = (render: (msgs: readonly { content: string }[], gen: boolean) => string) => ({
    config: model.config,
    tokenizer: Object.assign(Object.create(tok) as typeof tok, {
      chatTemplate: "custom",
      applyChatTemplate: (m: readonly { content: string }[], o: { addGenerationPrompt?: boolean } = {}) =>
        render(m, o.addGenerationPrompt ?? false),
    }),
  });
  // e.g. a template that drops the reasoning of earlier assistant turns: the history changes as turns are added
  const rewriting = fake((m, gen) => m.map((x, i) => (i < m.length - 1 ? "old " : "") + x.content).join("\n") + (gen ? "\nA:" : ""));
  const [r] = await reasons(jsonl({ messages: conv }), rewriting);
  assert.match(r!.reason, /does not render messages\[1\] after the conversation before it/);
  const failing = fake(() => {
    throw new Error("Conversation roles must alternate");
  });
  const [f] = await reasons(jsonl({ messages: conv }), failing);
  assert.equal(f!.reason, "the chat template fails on this conversation: Conversation roles must alternate");
});

test("fineTune on chat data with a separate validation file; validationSplit beside it is refused", async () => {
  const tmp = mkdtempSync(join(tmpdir(), "sprig-chat-"));
  const words = ["zero", "one", "two", "three", "four"];
  const chat = (i: number) => ({
    messages: [
      { role: "user", content: `${words[i % 5]} plus one?` },
      { role: "assistant", content: words[(i + 1) % 5]! },
    ],
  });
  const train = join(tmp, "train.jsonl");
  const val = join(tmp, "val.jsonl");
  writeFileSync(train, jsonl(...Array.from({ length: 32 }, (_, i) => chat(i))));
  writeFileSync(val, jsonl(...Array.from({ length: 5 }, (_, i) => chat(i + 2))));
  const logs: string[] = [];
  const r = await fineTune(
    {
      model,
      data: train,
      validationData: val,
      method: "lora",
      out: join(tmp, "out"),
      config: { totalTrainingEpochs: 1, learningRate: 1e-2 },
    },
    { onLog: (m) => logs.push(m) },
  );
  assert.equal(r.metrics.trainExamples, 32, "the whole training file trains");
  assert.equal(r.metrics.validationExamples, 5);
  assert.equal(r.metrics.evaluatedOn, "validation");
  assert.ok(
    logs.some((l) => l.includes(`+ 5 validation from ${val}`)),
    logs.join("\n"),
  );
  await assert.rejects(
    fineTune({ model, data: train, validationData: val, method: "lora", out: join(tmp, "out2"), config: { validationSplit: 0.1 } }),
    (e: unknown) => e instanceof TrainingConfigError && /validationSplit applies only without a validation file/.test(e.message),
  );
  // a bad validation line is reported as such, with its number
  writeFileSync(val, jsonl(chat(0), { messages: [] }));
  await assert.rejects(
    fineTune({ model, data: train, validationData: val, method: "lora", out: join(tmp, "out3") }),
    (e: unknown) => e instanceof DataError && /in the validation data/.test(e.message) && e.lines[0]!.line === 2,
  );
  // the split stays the default without a validation file
  writeFileSync(train, textDataset(40));
  const d = await fineTune({ model, data: train, method: "lora", out: join(tmp, "out4"), config: { totalTrainingEpochs: 1 } });
  assert.deepEqual([d.metrics.trainExamples, d.metrics.validationExamples], [32, 8]);
});
