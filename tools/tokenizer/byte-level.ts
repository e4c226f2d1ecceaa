// GPT-2 byte-level pieces shared with Hugging Face's ByteLevel pre-tokenizer: the pre-tokenization regex
// and the byte -> printable-character table, so every byte sequence maps to a string of vocab symbols.

/** GPT-2's split pattern, as the `tokenizers` ByteLevel pre-tokenizer applies it (use_regex: true). */
export const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** Split text into pre-tokens (the units BPE merges never cross). */
export function preTokenize(text: string): string[] {
  return text.match(GPT2_PATTERN) ?? [];
}

/**
 * bytes_to_unicode from GPT-2: printable Latin-1 bytes map to themselves, the other 68 bytes to U+0100
 * onwards, in byte order (so the space 0x20 becomes "Ġ" U+0120 and "\n" 0x0A becomes "Ċ" U+010A).
 */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table: string[] = [];
  let next = 0;
  for (let b = 0; b < 256; b++) table.push(String.fromCodePoint(printable(b) ? b : 256 + next++));
  return table;
})();

const encoder = new TextEncoder();

/** A pre-token's UTF-8 bytes as byte-level symbols (one character per byte). */
export function toByteSymbols(piece: string): string[] {
  return Array.from(encoder.encode(piece), (b) => BYTE_TO_CHAR[b]!);
}

/** The 256 byte symbols sorted by code point: the initial alphabet, in the order HF's trainer gives it ids. */
export const BYTE_ALPHABET: readonly string[] = [...BYTE_TO_CHAR].sort((x, y) => x.codePointAt(0)! - y.codePointAt(0)!);
