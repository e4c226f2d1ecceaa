// `node --import tsx tools/tokenizer/main.ts [--vocab N] [--out DIR]`: trains the byte-level BPE tokenizer on
// the default corpus's training split (regenerated in memory) and writes tokenizer.json + tokenizer_config.json.

import { parseArgs } from "node:util";
import { DEFAULT_SEED, corpusDocuments } from "../corpus/corpus.ts";
import { DEFAULT_TRAIN_MB } from "../corpus/main.ts";
import { type BpeModel, countWords, trainBpe } from "./bpe-trainer.ts";
import { SPECIAL_TOKENS, writeTokenizer } from "./tokenizer-files.ts";

export const DEFAULT_VOCAB = 4096;

/** The shipped tokenizer: trained on the default corpus's train split. */
export function trainCorpusTokenizer(vocabSize = DEFAULT_VOCAB, seed = DEFAULT_SEED, trainMb = DEFAULT_TRAIN_MB): BpeModel {
  const counts = new Map<string, number>();
  for (const d of corpusDocuments(seed, "train", trainMb * 1e6)) countWords([d.text], counts);
  return trainBpe(counts, { vocabSize, specialTokens: SPECIAL_TOKENS });
}

function main(): void {
  const { values } = parseArgs({
    options: { vocab: { type: "string", default: String(DEFAULT_VOCAB) }, out: { type: "string", default: ".sprig-cache/tokenizer" } },
  });
  const t0 = performance.now();
  const model = trainCorpusTokenizer(Number(values.vocab));
  writeTokenizer(values.out, model, 256);
  console.log(
    `${values.out}: ${model.vocab.length} tokens, ${model.merges.length} merges, ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) main();
