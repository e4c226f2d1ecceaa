// The byte-level BPE trainer: the same vocab and merges as Hugging Face `tokenizers` on the golden
// fixture's corpus, hand-checked merges, and files that the `tokenizers` binding loads and round-trips.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadTokenizer } from "../../src/models/io/tokenizer.ts";
import { BYTE_ALPHABET, BYTE_TO_CHAR, preTokenize } from "../../tools/tokenizer/byte-level.ts";
import { countWords, trainBpe } from "../../tools/tokenizer/bpe-trainer.ts";
import { SPECIAL_TOKENS, writeTokenizer } from "../../tools/tokenizer/tokenizer-files.ts";

// The corpus tools/golden/make_golden.py trained test/fixtures/models/tiny-llama's tokenizer on (HF BpeTrainer,
// vocab 320, min_frequency 2, the same specials, ByteLevel alphabet).
const GOLDEN_CORPUS = [
  "Sprig is a small service that keeps a base model in memory and serves many custom models derived from it. Each custom model is a handful of vectors that rescale keys, values and the hidden units of the feed-forward layers, so switching between them costs kilobytes.",
  "Once upon a time there was a little robot who liked to count the stars. Every night the robot climbed the hill behind the house, sat down on the grass, and counted: one, two, three, four. The stars never stayed still, so the robot never finished, and that was fine.",
  "The quick brown fox jumps over the lazy dog. A lazy dog does not jump; it sleeps in the sun and dreams of bones. The fox, being quick, jumps again and again until the evening comes.",
  "To fine-tune a model, upload a file of prompts and completions, choose a method (T-Few, LoRA or vanilla), pick a learning rate and the number of epochs, and wait for the job to finish. The loss goes down, the accuracy goes up, and the new model appears in the list.",
  "Numbers: 0 1 2 3 4 5 6 7 8 9 10 42 100 2024. Punctuation: (a, b); [c]! {d}? \"e\" 'f' - g_h.",
  "Caf\u00e9 cr\u00e8me, na\u00efve r\u00e9sum\u00e9, \u00fcber Stra\u00dfe, se\u00f1or. The end.",
];

const withTokenizer = async (texts: string[], vocabSize: number, f: (dir: string) => Promise<void>) => {
  const dir = mkdtempSync(join(tmpdir(), "sprig-bpe-"));
  try {
    writeTokenizer(dir, trainBpe(countWords(texts), { vocabSize, specialTokens: SPECIAL_TOKENS }), 256);
    await f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

test("byte table and pre-tokenizer follow GPT-2", () => {
  assert.equal(new Set(BYTE_TO_CHAR).size, 256);
  assert.equal(BYTE_TO_CHAR[0x20], "Ġ");
  assert.equal(BYTE_TO_CHAR[0x0a], "Ċ");
  assert.equal(BYTE_TO_CHAR[0x41], "A");
  assert.deepEqual(preTokenize("Mia's cat ran,  fast!\n\nOk 42"), [
    "Mia",
    "'s",
    " cat",
    " ran",
    ",",
    " ",
    " fast",
    "!",
    "\n",
    "\n",
    "Ok",
    " 42",
  ]); // GPT-2 keeps the last space/newline for the next word
});

test("reproduces the Hugging Face trainer's vocab and merges on the golden fixture's corpus", () => {
  const m = trainBpe(countWords(GOLDEN_CORPUS), { vocabSize: 320, specialTokens: SPECIAL_TOKENS });
  const hf = JSON.parse(readFileSync("test/fixtures/models/tiny-llama/tokenizer.json", "utf8")) as {
    model: { vocab: Record<string, number>; merges: [string, string][] };
  };
  const hfVocab = Object.entries(hf.model.vocab)
    .sort((x, y) => x[1] - y[1])
    .map(([t]) => t);
  assert.deepEqual(m.vocab, hfVocab);
  assert.deepEqual(m.merges, hf.model.merges);
});

test("merges the most frequent pair first and stops below the minimum frequency", () => {
  // pairs: (a,b) ×3, (Ġ,a) ×2, (Ġ,c) ×1, (c,d) ×1  →  "ab", then "Ġab" (×2); the rest occur once
  const m = trainBpe(countWords(["ab ab ab cd"]), { vocabSize: 1000, specialTokens: SPECIAL_TOKENS });
  assert.deepEqual(m.merges, [
    ["a", "b"],
    ["Ġ", "ab"],
  ]);
  assert.deepEqual(m.vocab.slice(0, 3), ["<unk>", "<s>", "</s>"]);
  assert.deepEqual(m.vocab.slice(3, 259), BYTE_ALPHABET);
  assert.deepEqual(m.vocab.slice(259), ["ab", "Ġab"]);
});

test("equal counts break toward the pair of smaller ids; the vocabulary size is a hard cap", () => {
  // (x,y) and (p,q) both occur twice; "p" sorts before "x", so (p,q) merges first
  const m = trainBpe(countWords(["xy xy pq pq"]), { vocabSize: 3 + 256 + 1, specialTokens: SPECIAL_TOKENS });
  assert.deepEqual(m.merges, [["p", "q"]]);
  assert.equal(m.vocab.length, 260);
  assert.throws(() => trainBpe(new Map(), { vocabSize: 100, specialTokens: SPECIAL_TOKENS }), /below/);
});

test("training does not depend on the order words were counted in", () => {
  const texts = ["the cat sat on the mat", "a dog and a cat", "the the the mat mat"];
  const x = trainBpe(countWords(texts), { vocabSize: 300, specialTokens: SPECIAL_TOKENS });
  const y = trainBpe(countWords([...texts].reverse()), { vocabSize: 300, specialTokens: SPECIAL_TOKENS });
  assert.deepEqual(x, y);
});

test("the written files load with the tokenizers binding: specials, BOS, round trips", async () => {
  const texts = [
    "Once upon a time, there was a little cat named Pip.",
    'Pip liked to play. "Hello!" said Pip.',
    "The sun was warm and the sky was blue.",
  ];
  await withTokenizer([...texts, ...texts], 600, async (dir) => {
    const t = loadTokenizer(dir)!;
    assert.equal(t.tokenToId("<unk>"), 0);
    assert.equal(t.bosTokenId, 1);
    assert.equal(t.eosTokenId, 2);
    assert.ok(t.isSpecial(1) && t.isSpecial(2) && !t.isSpecial(3));
    const ids = await t.encode("Pip liked to play.");
    assert.equal(ids[0], 1);
    // words seen twice became single tokens, as the trainer merged them
    assert.deepEqual(
      ids.slice(1).map((i) => t.idToToken(i)),
      ["Pip", "Ġliked", "Ġto", "Ġplay", "."],
    );
    for (const s of [...texts, "Unseen wörds, emoji 😀, tabs\tand\n\nnewlines  ", "", " leading space", "日本語"]) {
      const enc = await t.encode(s, { addSpecialTokens: false });
      assert.equal(t.decode(enc), s);
    }
    assert.equal(t.decode([1, ...(await t.encode("Pip", { addSpecialTokens: false })), 2], { skipSpecialTokens: true }), "Pip");
    assert.equal(
      t.applyChatTemplate([{ role: "user", content: "Hi" }], { addGenerationPrompt: true }),
      "<s><|user|>\nHi</s>\n<|assistant|>\n",
    );
  });
});
