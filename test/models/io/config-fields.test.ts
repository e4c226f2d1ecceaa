// Every config field that changes the maths is honoured and golden-tested, or refused: the table in
// config-fields.ts covers every field of transformers' config classes (test/fixtures/golden/config-fields.json,
// written by tools/golden/make_golden.py), every key the parser reads and every key of the fixtures' configs;
// each honoured field names goldens that exist and golden.test.ts runs, each refused one is refused.

import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { test } from "node:test";
import { CONFIG_FIELDS } from "../../../src/models/io/config-fields.ts";
import { ModelIoError } from "../../../src/models/io/errors.ts";
import { type ModelFamily, PARSED_KEYS, SUPPORTED_MODEL_TYPES, parseHfConfig } from "../../../src/models/io/hf-config.ts";

const MODELS = "test/fixtures/models";
const classFields = JSON.parse(readFileSync("test/fixtures/golden/config-fields.json", "utf8")) as Record<ModelFamily, string[]>;
const goldenTest = readFileSync("test/models/golden.test.ts", "utf8");

const BASE: Record<ModelFamily, Record<string, unknown>> = {
  llama: { model_type: "llama", vocab_size: 100, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4 },
  mistral: { model_type: "mistral", vocab_size: 100, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4 },
  qwen2: { model_type: "qwen2", vocab_size: 100, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4 },
  gpt2: { model_type: "gpt2", vocab_size: 100, n_embd: 32, n_layer: 2, n_head: 4 },
};

const unclassified = (family: ModelFamily, keys: readonly string[]) => keys.filter((k) => !(k in CONFIG_FIELDS[family]));

test("every field of the transformers config classes and every key the parser reads has a rule", () => {
  assert.deepEqual(Object.keys(classFields).sort(), [...SUPPORTED_MODEL_TYPES].sort());
  for (const family of SUPPORTED_MODEL_TYPES) {
    assert.deepEqual(unclassified(family, classFields[family]), [], `${family}: transformers fields without a rule`);
    const parsed = family === "gpt2" ? PARSED_KEYS.gpt2 : PARSED_KEYS.llama;
    assert.deepEqual(unclassified(family, parsed), [], `${family}: parsed keys without a rule`);
  }
});

test("every key of every fixture's config.json has a rule", () => {
  for (const name of readdirSync(MODELS)) {
    const cfg = JSON.parse(readFileSync(`${MODELS}/${name}/config.json`, "utf8")) as { model_type: ModelFamily };
    assert.deepEqual(unclassified(cfg.model_type, Object.keys(cfg)), [], `${name}: keys without a rule`);
  }
});

test("honoured fields name goldens that exist and golden.test.ts checks; fields without one say why", () => {
  for (const family of SUPPORTED_MODEL_TYPES) {
    for (const [field, rule] of Object.entries(CONFIG_FIELDS[family])) {
      const where = `${family}.${field}`;
      assert.ok((rule.golden.length > 0) !== (rule.inert !== undefined), `${where}: either goldens or a reason it sets no maths`);
      for (const g of rule.golden) {
        assert.ok(existsSync(`${MODELS}/${g}/config.json`) && existsSync(`test/fixtures/golden/${g}.json`), `${where}: no golden ${g}`);
        assert.ok(goldenTest.includes(`"${g}"`), `${where}: golden.test.ts does not check ${g}`);
      }
    }
  }
});

test("each refused value is refused, naming what is not supported", () => {
  let refused = 0;
  for (const family of SUPPORTED_MODEL_TYPES) {
    parseHfConfig(BASE[family], "base"); // the base alone is valid
    for (const [field, rule] of Object.entries(CONFIG_FIELDS[family])) {
      if (!rule.refused) continue;
      refused++;
      assert.throws(
        () => parseHfConfig({ ...BASE[family], [field]: rule.refused!.example }, "c"),
        (e: unknown) => e instanceof ModelIoError && /not supported/.test(e.message),
        `${family}.${field} = ${JSON.stringify(rule.refused.example)} was accepted`,
      );
    }
  }
  assert.ok(refused >= 10, `only ${refused} refused values listed`);
});

test("Mistral's window is honoured from the config (default 4096), Qwen2's refused with the reason", () => {
  assert.equal(parseHfConfig(BASE.mistral, "m").slidingWindow, 4096);
  assert.equal(parseHfConfig({ ...BASE.mistral, sliding_window: 4 }, "m").slidingWindow, 4);
  assert.equal(parseHfConfig({ ...BASE.mistral, sliding_window: null }, "m").slidingWindow, null);
  assert.equal(parseHfConfig({ ...BASE.llama, sliding_window: 4 }, "l").slidingWindow, null, "LlamaConfig has no window");
  assert.throws(() => parseHfConfig({ ...BASE.qwen2, use_sliding_window: true }, "q"), /only the layers from max_window_layers on/);
});
