// The guide's tables and figures against the code they describe: hyperparameter defaults and which
// fields the API takes, unit shapes, supported model types, every data validation message, the
// parameter counts quoted for sprig-base, the demo's learning rate.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { expectedAdapterTensors } from "../../src/adapters/adapter.ts";
import { defaultIa3Config } from "../../src/adapters/ia3.ts";
import { loraConfig } from "../../src/adapters/lora.ts";
import { TrainingConfig as ApiTrainingConfig } from "../../src/control/resources.ts";
import { UNIT_SHAPES } from "../../src/control/shapes.ts";
import { DEMO_EPOCHS, DEMO_LEARNING_RATE } from "../../src/demo/run.ts";
import { SUPPORTED_MODEL_TYPES, loadModel, parseHfConfig } from "../../src/models/index.ts";
import { expectedTensors } from "../../src/models/io/weights.ts";
import { resolveTrainingConfig, trainingConfigSpec } from "../../src/training/config.ts";
import { DataError, parseDataset } from "../../src/training/data.ts";
import type { Method } from "../../src/training/train-graph.ts";
import { TINY_MODEL } from "./tiny-data.ts";

const read = (f: string) => readFileSync(f, "utf8");

/** Rows of the Markdown table whose header starts with `first` (or matches it), as trimmed cells. */
function table(text: string, first: string | RegExp): string[][] {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => (typeof first === "string" ? l.startsWith(`| ${first} |`) : first.test(l)));
  assert.ok(start >= 0, `no table with header ${first}`);
  const rows: string[][] = [];
  for (let i = start + 2; i < lines.length && lines[i]!.startsWith("|"); i++) rows.push(lines[i]!.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim()));
  return rows;
}

const unquote = (c: string) => c.replace(/^`|`$/g, "");

test("hyperparameters.md: every default per method, and the fields the API accepts", () => {
  const rows = table(read("docs/hyperparameters.md"), "setting");
  const api = new Set(Object.keys(ApiTrainingConfig.shape));
  const methods: Method[] = ["tfew", "lora", "vanilla"];
  const resolved = methods.map((m) => trainingConfigSpec(m, {}) as unknown as Record<string, unknown>);
  const documented = new Set<string>();
  for (const [name, apiCell, ...cells] of rows) {
    const key = unquote(name!);
    documented.add(key);
    assert.equal(apiCell === "✓", api.has(key), `${key}: API column`);
    for (const [i, m] of methods.entries()) {
      const cell = cells[i]!;
      const v = resolved[i]![key];
      if (cell === "—") {
        const sample = key === "loraTargetModules" ? ["q_proj"] : key === "loraDropout" ? 0.1 : 1;
        assert.throws(() => resolveTrainingConfig(m, { [key]: sample }), new RegExp(`${key} applies to`), `${key} is refused for ${m}`);
      } else if (cell === "all") assert.equal(v, undefined, `${key} for ${m}`);
      else if (key === "loraTargetModules") assert.equal(cell, "q_proj, v_proj");
      else assert.equal(String(v), cell, `${key} default for ${m}`);
    }
  }
  for (const k of api) if (k !== "trainingConfigType") assert.ok(documented.has(k), `the API's ${k} is documented`);
  for (const k of Object.keys(resolved[0]!)) assert.ok(documented.has(k), `${k} is documented`);
});

test("concepts.md: the unit shapes, their cores and memory", () => {
  const rows = table(read("docs/concepts.md"), "unit shape");
  assert.deepEqual(rows.map((r) => unquote(r[0]!.replace(" (default)", ""))), UNIT_SHAPES.map((s) => s.name));
  for (const [i, s] of UNIT_SHAPES.entries()) {
    assert.equal(rows[i]![1], String(s.cores), `${s.name} cores`);
    assert.equal(rows[i]![2], `${s.memoryBytes / 1024 ** 3} GiB`, `${s.name} memory`);
  }
});

test("concepts.md: trainable parameters quoted for sprig-base are what the adapters hold", () => {
  // the shipped model's own config, so a retrained base model cannot leave the page behind
  const config = parseHfConfig(JSON.parse(read("models/sprig-base/config.json")), "models/sprig-base/config.json");
  const count = (m: Map<string, number[]>) => [...m.values()].reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
  const total = count(expectedTensors(config));
  const tfew = count(expectedAdapterTensors(config, defaultIa3Config(config)));
  const lora = count(expectedAdapterTensors(config, loraConfig(config, { r: 8, alpha: 16, dropout: 0.1 })));
  const row = table(read("docs/concepts.md"), /^\| +\| T-Few \| LoRA \| vanilla \|$/).find((r) => r[0]!.startsWith("trainable parameters"))!;
  const fmt = (n: number) => n.toLocaleString("en-US");
  assert.ok(row[0]!.includes(`(${fmt(total)})`), row[0]);
  assert.ok(row[1]!.startsWith(`${fmt(tfew)} (${((100 * tfew) / total).toFixed(2)}%)`), row[1]);
  assert.ok(row[2]!.startsWith(`${fmt(lora)} (${((100 * lora) / total).toFixed(2)}%)`), row[2]);
  assert.ok(row[3]!.startsWith(`${fmt(total)} (100%)`), row[3]);
  assert.ok(read("docs/concepts.md").includes(`its vectors (${Math.round((4 * tfew) / 1024)} KiB on \`sprig-base\`)`), "T-Few serving memory: 4 bytes per parameter");
});

test("importing-models.md names exactly the supported model types", () => {
  const row = table(read("docs/importing-models.md"), "file").find((r) => r[0] === "`config.json`")!;
  const named = [...row[2]!.matchAll(/`(\w+)`/g)].map((m) => m[1]).filter((t) => t !== "model_type");
  assert.deepEqual(named.sort(), [...SUPPORTED_MODEL_TYPES].sort());
});

/** For each documented message, a line that should produce it (and the model to check it against). */
const USER = { role: "user", content: "a" };
const BOT = { role: "assistant", content: " b" };
const chat = (...messages: unknown[]) => JSON.stringify({ messages });
const BAD_LINES: Record<string, { line: string | Buffer; model?: "no-tokenizer" | "no-eos" | "no-template" | "rewriting-template" | "failing-template" }> = {
  "not valid UTF-8": { line: Buffer.from([0x7b, 0xff, 0x7d]) },
  "not valid JSON (…)": { line: "{" },
  "not a JSON object; expected …": { line: "[1, 2]" },
  'unknown key "…"; expected …': { line: '{"prompt": "a", "completion": " b", "answer": 1}' },
  "unknown keys …": { line: '{"prompt": "a", "completion": " b", "x": 1, "y": 2}' },
  'missing "prompt"; expected …': { line: '{"completion": " b"}' },
  'missing "completion"; expected …': { line: '{"prompt": "a"}' },
  'give only one of "prompt" and "prompt_ids"': { line: '{"prompt": "a", "prompt_ids": [1], "completion": " b"}' },
  'give only one of "completion", "choices"': { line: '{"prompt": "a", "completion": " b", "choices": [" x", " y"], "label": 0}' },
  '"prompt" must be a string, found …': { line: '{"prompt": 3, "completion": " b"}' },
  '"prompt" is text but the model has no tokenizer.json; give "prompt_ids" (token ids) instead': { line: '{"prompt": "a", "completion_ids": [5]}', model: "no-tokenizer" },
  '"completion" is empty: there is nothing to learn': { line: '{"prompt": "a", "completion": ""}' },
  '"label" belongs with "choices", not "completion"': { line: '{"prompt": "a", "completion": " b", "label": 0}' },
  '"choices" must be a list of at least 2 answer choices, found …': { line: '{"prompt": "a", "choices": [" x"], "label": 0}' },
  "choices[1] is empty": { line: '{"prompt": "a", "choices": [" x", ""], "label": 0}' },
  'missing "label" (index of the correct choice)': { line: '{"prompt": "a", "choices": [" x", " y"]}' },
  '"label" must be an integer index into choices (0..N), found …': { line: '{"prompt": "a", "choices": [" x", " y"], "label": 2}' },
  '"prompt_ids" must be a list of token ids, found …': { line: '{"prompt_ids": "1 2", "completion_ids": [5]}' },
  '"prompt_ids"[3] = … is not a token id in [0, V)': { line: '{"prompt_ids": [1, 2, 3, 100000], "completion_ids": [5]}' },
  "the prompt has no tokens: the first completion token needs a token before it": { line: '{"prompt_ids": [], "completion_ids": [5]}' },
  "a completion has no tokens after tokenization": { line: '{"prompt": "a", "completion": " b"}', model: "no-eos" },
  "N tokens (prompt P + completion C) exceed the model's context of M": { line: JSON.stringify({ prompt: "word ".repeat(80), completion: " b" }) },
  '"messages" comes alone: remove …': { line: JSON.stringify({ messages: [USER, BOT], prompt: "a" }) },
  '"messages" is text but the model has no tokenizer.json; give "prompt_ids" and "completion_ids" instead': { line: chat(USER, BOT), model: "no-tokenizer" },
  '"messages" needs the model\'s chat template, and this model has none (tokenizer_config.json "chat_template"); give "prompt" and "completion" instead': {
    line: chat(USER, BOT),
    model: "no-template",
  },
  '"messages" must be a non-empty list of {"role", "content"}': { line: chat() },
  'messages[0] must be an object {"role", "content"}': { line: chat("hi", BOT) },
  'messages[0]: unknown key "…" (a message has "role", "content" and, for assistant turns, "weight")': { line: chat({ ...USER, name: "x" }, BOT) },
  'messages[0].role must be one of "system", "user", "assistant", found …': { line: chat({ role: "tool", content: "a" }, BOT) },
  "messages[0].content must be a string": { line: chat({ role: "user" }, BOT) },
  "messages[0].weight must be 0 or 1, and only on assistant messages": { line: chat({ ...USER, weight: 1 }, BOT) },
  "messages[1] is an empty assistant message: there is nothing to learn": { line: chat(USER, { role: "assistant", content: "" }) },
  '"messages" has no assistant message to learn from (with weight 1)': { line: chat(USER, { ...BOT, weight: 0 }) },
  "the chat template fails on this conversation: …": { line: chat(USER, BOT), model: "failing-template" },
  "the chat template does not render messages[1] after the conversation before it (it rewrites earlier turns), so its tokens cannot be told apart": {
    line: chat(USER, BOT),
    model: "rewriting-template",
  },
};

/** A documented message as a pattern: "…" is any text; N, P, C, M, V are numbers. */
const pattern = (doc: string) => new RegExp(`^${doc.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/…/g, ".*").replace(/\b[NPCMV]\b/g, "\\d+")}$`);

test("data-format.md: every validation message is what the code says for such a line", async () => {
  const tiny = await loadModel(TINY_MODEL);
  const withTemplate = (chatTemplate: string | null, render?: (m: readonly { content: string }[], gen: boolean) => string) =>
    Object.assign(Object.create(tiny.tokenizer!) as object, { chatTemplate }, render ? { applyChatTemplate: (m: readonly { content: string }[], o: { addGenerationPrompt?: boolean } = {}) => render(m, o.addGenerationPrompt ?? false) } : {});
  const models = {
    normal: tiny,
    "no-tokenizer": { config: tiny.config, tokenizer: undefined },
    // a tokenizer without an end-of-sequence token whose completions come out empty
    "no-eos": { config: { ...tiny.config, eosTokenIds: [] }, tokenizer: { eosTokenId: null, encodeBatch: async (t: string[], o: { addSpecialTokens: boolean }) => t.map(() => (o.addSpecialTokens ? [1] : [])) } },
    "no-template": { config: tiny.config, tokenizer: withTemplate(null) },
    // the history rendered differently once a turn follows it (as templates that drop earlier reasoning do)
    "rewriting-template": { config: tiny.config, tokenizer: withTemplate("t", (m, gen) => m.map((x, i) => `${i < m.length - 1 ? "old " : ""}${x.content}`).join("\n") + (gen ? "\nA:" : "")) },
    "failing-template": {
      config: tiny.config,
      tokenizer: withTemplate("t", () => {
        throw new Error("roles must alternate");
      }),
    },
  };
  const rows = table(read("docs/data-format.md"), "message");
  const documented = rows.flatMap(([msg]) => [...msg!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
  assert.deepEqual(documented.filter((d) => !(d in BAD_LINES)), [], "every documented message has a line that produces it");
  for (const doc of documented) {
    const { line, model } = BAD_LINES[doc]!;
    const bytes = Buffer.concat([typeof line === "string" ? Buffer.from(line) : line, Buffer.from("\n")]);
    const err = await parseDataset(bytes, models[model ?? "normal"] as never, { minExamples: 1 }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof DataError && err.lines.length === 1, `${doc}: ${String(err)}`);
    assert.match(err.lines[0]!.reason, pattern(doc), doc);
  }
  const few = await parseDataset(Buffer.from('{"prompt": "a", "completion": " b"}\n'), tiny).catch((e: Error) => e.message);
  assert.ok(read("docs/data-format.md").includes(String(few).replace("1 examples", "N examples")), `file-wide: ${String(few)}`);
});

test("the demo's settings quoted in the docs are the demo's", () => {
  const doc = read("docs/hyperparameters.md").replace(/\s+/g, " ");
  assert.ok(doc.includes(`at ${DEMO_LEARNING_RATE} (what \`sprig demo\` uses)`), "the demo's learning rate");
  // the bundled demo sets have 128 examples: 102 train after the 80/20 split, 13 batches of 8 per epoch
  const perEpoch = Math.ceil(Math.round(128 * 0.8) / 8);
  assert.ok(doc.includes(`learns \`demo-mood\` in ${DEMO_EPOCHS.choices * perEpoch} steps`), "demo-mood's steps");
  assert.ok(doc.includes(`\`demo-record\` in ${DEMO_EPOCHS.completion * perEpoch}`), "demo-record's steps");
  const help = `(default: ${DEMO_EPOCHS.choices} for answer-choice sets, ${DEMO_EPOCHS.completion} otherwise)`;
  assert.ok(read("src/cli/commands/demo.ts").includes(help), "the --epochs help states the defaults");
});
