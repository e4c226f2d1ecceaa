// Hand-written tokenizer.json files for tests, in the two layouts our families use: byte-level BPE
// (GPT-2, Qwen2, Llama 3) and SentencePiece-style BPE with byte fallback (Llama 2, Mistral).

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** GPT-2's reversible byte -> printable character map. */
export function bytesToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const out: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCodePoint(printable.includes(b) ? b : 256 + extra++);
  return out;
}

const added = (id: number, content: string, special: boolean) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: !special,
  special,
});

function withMerges(vocab: Record<string, number>, merges: [string, string][]): void {
  let id = Object.keys(vocab).length;
  for (const [a, b] of merges) if (!(a + b in vocab)) vocab[a + b] = id++;
}

/** Byte-level BPE: <|endoftext|>=0, 256 byte symbols, a few merges, then ChatML specials; no BOS added. */
export function byteLevelTokenizerJson(): object {
  const b2u = bytesToUnicode();
  const vocab: Record<string, number> = { "<|endoftext|>": 0 };
  b2u.forEach((ch, b) => (vocab[ch] = b + 1));
  const merges: [string, string][] = [["h", "e"], ["l", "l"], ["he", "ll"], ["hell", "o"], ["Ġ", "w"], ["o", "r"], ["Ġw", "or"], ["l", "d"], ["Ġwor", "ld"]];
  withMerges(vocab, merges);
  const next = Object.keys(vocab).length;
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [added(0, "<|endoftext|>", true), added(next, "<|im_start|>", true), added(next + 1, "<|im_end|>", true)],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  };
}

/** Llama-2 style: <unk>=0 <s>=1 </s>=2, <0x00>..<0xFF> = 3..258, "▁" + ASCII letters, merges; BOS added. */
export function sentencePieceTokenizerJson(): object {
  const vocab: Record<string, number> = { "<unk>": 0, "<s>": 1, "</s>": 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`] = 3 + b;
  let id = 259;
  for (const ch of "▁abcdefghijklmnopqrstuvwxyz,.!") vocab[ch] = id++;
  const merges: [string, string][] = [["▁", "h"], ["e", "l"], ["▁h", "el"], ["▁hel", "l"], ["▁hell", "o"], ["▁", "w"], ["o", "r"], ["▁w", "or"], ["l", "d"], ["▁wor", "ld"]];
  withMerges(vocab, merges);
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [added(0, "<unk>", true), added(1, "<s>", true), added(2, "</s>", true)],
    normalizer: { type: "Sequence", normalizers: [{ type: "Prepend", prepend: "▁" }, { type: "Replace", pattern: { String: " " }, content: "▁" }] },
    pre_tokenizer: null,
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "<s>", type_id: 1 } }, { Sequence: { id: "B", type_id: 1 } }],
      special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } },
    },
    decoder: {
      type: "Sequence",
      decoders: [{ type: "Replace", pattern: { String: "▁" }, content: " " }, { type: "ByteFallback" }, { type: "Fuse" }, { type: "Strip", content: " ", start: 1, stop: 0 }],
    },
    model: { type: "BPE", dropout: null, unk_token: "<unk>", continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges },
  };
}

/** A fresh temp model directory holding the given files (objects are written as JSON). */
export function modelDir(files: Record<string, object | string>): string {
  const dir = mkdtempSync(join(tmpdir(), "sprig-tok-"));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), typeof content === "string" ? content : JSON.stringify(content));
  return dir;
}
