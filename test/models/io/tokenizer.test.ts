// SprigTokenizer on hand-written tokenizer.json files: encoding with and without special tokens, decoding
// (checked against the binding's own decode), tokenizer_config flags, streaming decode of multi-byte
// characters, chat templates, and directories without a tokenizer.

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Tokenizer } from "tokenizers";
import { ModelIoError } from "../../../src/models/io/errors.ts";
import { type SprigTokenizer, DEFAULT_CHAT_TEMPLATE, loadTokenizer } from "../../../src/models/io/tokenizer.ts";
import { byteLevelTokenizerJson, modelDir, sentencePieceTokenizerJson } from "./tiny-tokenizers.ts";

const TEXT = "hello world, é 日本 🙂!";

function byteLevel(config: object = { bos_token: null, eos_token: { content: "<|im_end|>", special: true } }): SprigTokenizer {
  return loadTokenizer(modelDir({ "tokenizer.json": byteLevelTokenizerJson(), "tokenizer_config.json": config }))!;
}
function sentencePiece(config: object = { bos_token: "<s>", eos_token: "</s>" }): SprigTokenizer {
  return loadTokenizer(modelDir({ "tokenizer.json": sentencePieceTokenizerJson(), "tokenizer_config.json": config }))!;
}

test("a directory without tokenizer.json has no tokenizer; a broken one is an error", () => {
  assert.equal(loadTokenizer("test/fixtures/models/stories260K-hf"), null);
  const dir = modelDir({ "tokenizer.json": "{ not json" });
  assert.throws(() => loadTokenizer(dir), (e: Error) => e instanceof ModelIoError && e.file === join(dir, "tokenizer.json"));
  const bad = modelDir({ "tokenizer.json": { version: "1.0", model: { type: "Nope" } } });
  assert.throws(() => loadTokenizer(bad), /cannot load tokenizer/);
});

test("byte-level BPE: encode is async, specials in text are matched, lookups and bos/eos work", async () => {
  const tok = byteLevel();
  const pending = tok.encode("hello world");
  assert.ok(pending instanceof Promise);
  const ids = await pending;
  assert.deepEqual(ids.map((i) => tok.idToToken(i)), ["hello", "Ġworld"]);
  assert.deepEqual(await tok.encode("hello world", { addSpecialTokens: false }), ids); // no BOS in this layout
  const imEnd = tok.tokenToId("<|im_end|>")!;
  assert.equal(tok.eosTokenId, imEnd);
  assert.equal(tok.eosToken, "<|im_end|>");
  assert.equal(tok.bosTokenId, null);
  assert.deepEqual(await tok.encode("x<|im_end|>"), [tok.tokenToId("x"), imEnd]);
  assert.ok(tok.isSpecial(imEnd) && !tok.isSpecial(ids[0]!));
  assert.equal(tok.tokenToId("no such token"), null);
  assert.equal(tok.idToToken(10_000), null);
  assert.equal(tok.vocabSize, 1 + 256 + 9 + 2);
  assert.deepEqual(await tok.encodeBatch(["hello", "hello world"]), [[ids[0]], ids]);
});

test("decode: specials kept or skipped, multi-byte text restored, same as the binding's decode", async () => {
  const tok = byteLevel();
  const ids = await tok.encode(`${TEXT}<|im_end|>`);
  assert.equal(tok.decode(ids), `${TEXT}<|im_end|>`);
  assert.equal(tok.decode(ids, { skipSpecialTokens: true }), TEXT);

  for (const [json, tokz] of [[byteLevelTokenizerJson(), tok], [sentencePieceTokenizerJson(), sentencePiece()]] as const) {
    const native = Tokenizer.fromString(JSON.stringify(json));
    let seed = 7;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let trial = 0; trial < 300; trial++) {
      const seq = Array.from({ length: 1 + rand(8) }, () => rand(tokz.vocabSize + 2));
      for (const skip of [false, true]) assert.equal(tokz.decode(seq, { skipSpecialTokens: skip }), await native.decode(seq, skip), `${seq} skip=${skip}`);
    }
  }
});

test("sentencepiece-style: BOS from the post-processor, or from add_bos_token / add_eos_token when set", async () => {
  const plain = sentencePiece();
  const ids = await plain.encode("hello world");
  assert.deepEqual(ids.map((i) => plain.idToToken(i)), ["<s>", "▁hello", "▁world"]);
  assert.equal(plain.bosTokenId, 1);
  assert.equal(plain.decode(ids), "<s> hello world");
  assert.equal(plain.decode(ids, { skipSpecialTokens: true }), "hello world");
  const bytes = await plain.encode("é", { addSpecialTokens: false });
  assert.deepEqual(bytes.map((i) => plain.idToToken(i)), ["▁", "<0xC3>", "<0xA9>"]); // byte fallback

  const noBos = sentencePiece({ bos_token: "<s>", eos_token: "</s>", add_bos_token: false });
  assert.deepEqual(await noBos.encode("hello"), ids.slice(1, 2));
  const both = sentencePiece({ bos_token: "<s>", eos_token: "</s>", add_bos_token: true, add_eos_token: true });
  assert.deepEqual(await both.encode("hello"), [1, ids[1], 2]);
  assert.deepEqual(await both.encode("hello", { addSpecialTokens: false }), [ids[1]]);
  assert.deepEqual(await both.encodeBatch(["hello"]), [[1, ids[1], 2]]);
  assert.throws(() => sentencePiece({ bos_token: "<bos>", add_bos_token: true }), /add_bos_token is true but bos_token "<bos>" is not in the vocabulary/);
  assert.throws(() => sentencePiece({ add_eos_token: "yes" }), /add_eos_token: expected true or false/);
});

test("special tokens fall back to special_tokens_map.json; clean_up_tokenization_spaces is honoured", async () => {
  const dir = modelDir({ "tokenizer.json": sentencePieceTokenizerJson(), "special_tokens_map.json": { bos_token: { content: "<s>" }, eos_token: "</s>" } });
  const tok = loadTokenizer(dir)!;
  assert.deepEqual([tok.bosTokenId, tok.eosTokenId], [1, 2]);
  const clean = sentencePiece({ clean_up_tokenization_spaces: true });
  const ids = await clean.encode("hello , world !", { addSpecialTokens: false });
  assert.equal(clean.decode(ids), "hello, world!");
  assert.equal(sentencePiece().decode(ids), "hello , world !");
});

async function stream(tok: SprigTokenizer, ids: number[], options = {}): Promise<string[]> {
  const dec = tok.incrementalDecoder(options);
  const parts = ids.map((id) => dec.push(id));
  parts.push(dec.flush());
  return parts;
}

test("incremental decoding emits only complete characters and adds up to the full decode", async () => {
  for (const tok of [byteLevel(), sentencePiece()]) {
    const ids = await tok.encode(TEXT);
    const parts = await stream(tok, ids);
    assert.ok(parts.every((p) => !p.includes("\uFFFD")), JSON.stringify(parts));
    assert.equal(parts.join(""), tok.decode(ids));
    assert.ok(parts.includes("🙂") || parts.includes(" 🙂"), JSON.stringify(parts)); // four byte tokens, one delta
    // "é" is two byte tokens: the first yields nothing, the second the whole character.
    const e = await tok.encode("é", { addSpecialTokens: false });
    const eParts = await stream(tok, e);
    assert.deepEqual(eParts.filter((p) => p !== ""), [tok.decode(e)]);
    assert.equal(eParts[e.length - 2], "");
  }
});

test("incremental decoding: context keeps leading spaces, skipping specials, flush of a cut character", async () => {
  const sp = sentencePiece();
  const [hello, world] = (await sp.encode("hello world", { addSpecialTokens: false })) as [number, number];
  assert.deepEqual(await stream(sp, [world]), ["world", ""]); // the Strip decoder drops a leading space at the start
  assert.deepEqual(await stream(sp, [world], { context: [hello] }), [" world", ""]);
  const withSpecials = [1, hello, 2, world];
  assert.equal((await stream(sp, withSpecials, { skipSpecialTokens: true })).join(""), "hello world");
  assert.equal((await stream(sp, withSpecials)).join(""), sp.decode(withSpecials));

  const bl = byteLevel();
  const snowman = await bl.encode("☃", { addSpecialTokens: false });
  assert.equal(snowman.length, 3);
  const dec = bl.incrementalDecoder();
  assert.equal(dec.push(snowman[0]!) + dec.push(snowman[1]!), "");
  assert.equal(dec.flush(), "\uFFFD"); // the stream ended mid-character
  assert.equal(dec.push(bl.tokenToId("x")!), "x"); // and the decoder starts afresh
});

const messages = [
  { role: "system", content: "Be brief." },
  { role: "user", content: "hello" },
];

test("chat templates: the model's own (string, named list, .jinja file) with special tokens, else ChatML", async () => {
  const plain = byteLevel();
  assert.equal(plain.chatTemplate, null);
  assert.equal(plain.applyChatTemplate(messages), "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhello<|im_end|>\n");
  assert.equal(plain.applyChatTemplate(messages, { addGenerationPrompt: true }).slice(-22), "<|im_start|>assistant\n");
  const chatIds = await plain.encodeChat(messages, { addGenerationPrompt: true });
  assert.equal(chatIds[0], plain.tokenToId("<|im_start|>"));
  assert.equal(plain.decode(chatIds), plain.applyChatTemplate(messages, { addGenerationPrompt: true }));
  assert.ok(DEFAULT_CHAT_TEMPLATE.includes("<|im_start|>"));

  const template = "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}{{ extra }}";
  const own = sentencePiece({ bos_token: "<s>", eos_token: "</s>", chat_template: template });
  assert.equal(own.chatTemplate, template);
  const rendered = own.applyChatTemplate(messages, { addGenerationPrompt: true, variables: { extra: "!" } });
  assert.equal(rendered, "<s>[system] Be brief.</s>[user] hello</s>[assistant]!");
  const ids = await own.encodeChat(messages);
  assert.equal(ids.filter((i) => i === 1).length, 1); // BOS from the template only, not added again

  const named = sentencePiece({ chat_template: [{ name: "tool_use", template: "T" }, { name: "default", template: "D" }] });
  assert.equal(named.applyChatTemplate(messages), "D");
  const dir = modelDir({ "tokenizer.json": sentencePieceTokenizerJson() });
  writeFileSync(join(dir, "chat_template.jinja"), "{% for m in messages %}{{ m.content }};{% endfor %}");
  assert.equal(loadTokenizer(dir)!.applyChatTemplate(messages), "Be brief.;hello;");
  assert.throws(() => sentencePiece({ chat_template: 42 }), /chat_template: expected a string or a list/);
  const raising = sentencePiece({ chat_template: "{{ raise_exception('roles must alternate') }}" });
  assert.throws(() => raising.applyChatTemplate(messages), /roles must alternate/);
});
