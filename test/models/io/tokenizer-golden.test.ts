// SprigTokenizer against transformers' own output (test/fixtures/golden/tokenizer.json, made with
// PreTrainedTokenizerFast on test/fixtures/models/tiny-llama): ids, tokens, decode and the chat template.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { type ChatMessage, loadTokenizer } from "../../../src/models/io/tokenizer.ts";

interface GoldenCase {
  text: string;
  ids: number[];
  ids_no_special: number[];
  tokens_no_special: string[];
  decoded: string;
  decoded_skip_special: string;
}
interface Golden {
  tokenizer: string;
  vocab_size: number;
  special: Record<"unk" | "bos" | "eos", [string, number]>;
  cases: GoldenCase[];
  chat: { messages: ChatMessage[]; add_generation_prompt: boolean; rendered: string; rendered_ids_no_special: number[] };
}

const golden = JSON.parse(readFileSync("test/fixtures/golden/tokenizer.json", "utf8")) as Golden;
const tok = loadTokenizer(golden.tokenizer)!;

test("golden: vocabulary size and special tokens", () => {
  assert.equal(tok.vocabSize, golden.vocab_size);
  assert.deepEqual([tok.bosToken, tok.bosTokenId], golden.special.bos);
  assert.deepEqual([tok.eosToken, tok.eosTokenId], golden.special.eos);
  assert.equal(tok.tokenToId(golden.special.unk[0]), golden.special.unk[1]);
});

test("golden: encode matches transformers, with and without special tokens", async () => {
  for (const c of golden.cases) {
    assert.deepEqual(await tok.encode(c.text), c.ids, JSON.stringify(c.text));
    const plain = await tok.encode(c.text, { addSpecialTokens: false });
    assert.deepEqual(plain, c.ids_no_special, JSON.stringify(c.text));
    assert.deepEqual(plain.map((id) => tok.idToToken(id)), c.tokens_no_special, JSON.stringify(c.text));
  }
  assert.deepEqual(await tok.encodeBatch(golden.cases.map((c) => c.text)), golden.cases.map((c) => c.ids));
});

test("golden: decode and streaming decode match transformers", () => {
  for (const c of golden.cases) {
    assert.equal(tok.decode(c.ids), c.decoded, JSON.stringify(c.text));
    assert.equal(tok.decode(c.ids, { skipSpecialTokens: true }), c.decoded_skip_special, JSON.stringify(c.text));
    const dec = tok.incrementalDecoder({ skipSpecialTokens: true });
    const parts = c.ids.map((id) => dec.push(id));
    assert.equal(parts.join("") + dec.flush(), c.decoded_skip_special, JSON.stringify(c.text));
    assert.ok(parts.every((p) => !p.includes("\uFFFD")), JSON.stringify(parts));
  }
});

test("golden: chat template renders and tokenizes as transformers' apply_chat_template", async () => {
  const { messages, add_generation_prompt, rendered, rendered_ids_no_special } = golden.chat;
  assert.equal(tok.applyChatTemplate(messages, { addGenerationPrompt: add_generation_prompt }), rendered);
  assert.deepEqual(await tok.encodeChat(messages, { addGenerationPrompt: add_generation_prompt }), rendered_ids_no_special);
});
