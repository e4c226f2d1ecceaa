// `node --import tsx tools/corpus/main.ts [--seed N] [--train-mb X] [--valid-mb Y] [--out DIR]`: writes the
// corpus's train.txt and valid.txt (documents separated by a blank line) and prints their sizes and SHA-256.

import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_SEED, DOC_SEPARATOR, type Split, corpusDocuments } from "./corpus.ts";

export const DEFAULT_TRAIN_MB = 20;
export const DEFAULT_VALID_MB = 0.25;

/** The split's text as written to disk (also what the tokenizer and pre-training read). */
export function corpusText(seed: number, split: Split, megabytes: number): string {
  const docs: string[] = [];
  for (const d of corpusDocuments(seed, split, megabytes * 1e6)) docs.push(d.text);
  return docs.join(DOC_SEPARATOR) + DOC_SEPARATOR;
}

export const sha256 = (s: string): string => createHash("sha256").update(s).digest("hex");

function main(): void {
  const { values } = parseArgs({
    options: {
      seed: { type: "string", default: String(DEFAULT_SEED) },
      "train-mb": { type: "string", default: String(DEFAULT_TRAIN_MB) },
      "valid-mb": { type: "string", default: String(DEFAULT_VALID_MB) },
      out: { type: "string", default: ".sprig-cache/corpus" },
    },
  });
  const seed = Number(values.seed);
  mkdirSync(values.out, { recursive: true });
  for (const [split, mb] of [
    ["train", Number(values["train-mb"])],
    ["valid", Number(values["valid-mb"])],
  ] as const) {
    const text = corpusText(seed, split, mb);
    const file = join(values.out, `${split}.txt`);
    writeFileSync(file, text);
    console.log(`${file}: ${Buffer.byteLength(text)} bytes, ${text.split(DOC_SEPARATOR).length - 1} documents, sha256 ${sha256(text)}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
