// The bytes each token id stands for, and a byte trie over them: what a byte-level grammar matcher needs
// to decide which tokens can continue a document. Built once per tokenizer (cached) from its vocabulary.

import type { SprigTokenizer } from "../../models/index.ts";

/** One trie node: children by byte, and the token ids whose bytes end here. */
export interface TrieNode {
  children: Map<number, TrieNode>;
  ids: number[];
}

export interface TokenBytes {
  /** bytes of each id; null for special tokens and ids without a vocabulary entry */
  bytes: (Uint8Array | null)[];
  trie: TrieNode;
  /** longest token in bytes */
  maxLen: number;
}

// GPT-2's byte-level alphabet: printable bytes stand for themselves, the other 68 bytes for U+0100 + n
function byteLevelTable(): Map<string, number> {
  const keep = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
  const table = new Map<string, number>();
  let n = 0;
  for (let b = 0; b < 256; b++) table.set(String.fromCodePoint(keep(b) ? b : 256 + n++), b);
  return table;
}
const BYTE_LEVEL = byteLevelTable();
const BYTE_FALLBACK = /^<0x([0-9A-Fa-f]{2})>$/;

/**
 * A token string's bytes. Byte-level BPE (GPT-2, Llama 3, SmolLM, Qwen) writes every byte as one character
 * of its alphabet; SentencePiece-style vocabularies write spaces as U+2581 and raw bytes as `<0xNN>`.
 * A vocabulary is byte-level when every token is written in that alphabet.
 */
function tokenToBytes(token: string, byteLevel: boolean): Uint8Array {
  if (byteLevel) return Uint8Array.from([...token].map((c) => BYTE_LEVEL.get(c)!));
  const m = BYTE_FALLBACK.exec(token);
  if (m) return Uint8Array.of(parseInt(m[1]!, 16));
  return new Uint8Array(Buffer.from(token.replaceAll("\u2581", " "), "utf8"));
}

const cache = new WeakMap<SprigTokenizer, TokenBytes>();

export function tokenBytes(tok: SprigTokenizer): TokenBytes {
  const hit = cache.get(tok);
  if (hit) return hit;
  const strings: (string | null)[] = Array.from({ length: tok.vocabSize }, (_, id) => (tok.isSpecial(id) ? null : tok.idToToken(id)));
  const byteLevel = strings.every((s) => s === null || [...s].every((c) => BYTE_LEVEL.has(c)));
  const bytes = strings.map((s) => (s === null || s === "" ? null : tokenToBytes(s, byteLevel)));
  const trie: TrieNode = { children: new Map(), ids: [] };
  let maxLen = 0;
  bytes.forEach((b, id) => {
    if (!b) return;
    maxLen = Math.max(maxLen, b.length);
    let node = trie;
    for (const x of b) {
      let next = node.children.get(x);
      if (!next) node.children.set(x, (next = { children: new Map(), ids: [] }));
      node = next;
    }
    node.ids.push(id);
  });
  const out = { bytes, trie, maxLen };
  cache.set(tok, out);
  return out;
}
