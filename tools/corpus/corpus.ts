// The corpus: documents (mostly stories, some factual paragraphs), each generated from its own seed
// derived from (corpus seed, split, index) — so any document can be regenerated alone, and the train and
// held-out splits never share a generator state.

import { makeFacts } from "./facts.ts";
import { makeRegister } from "./registers.ts";
import { CorpusRng, hashSeed } from "./rng.ts";
import { type Story, makeStory } from "./story.ts";

export type Split = "train" | "valid";

export const DEFAULT_SEED = 20240611;

export interface CorpusDocument {
  kind: "story" | "facts" | "register";
  text: string;
  /** set for stories */
  story?: Story;
}

/** Shares of documents that are factual paragraphs and other registers (cards, quizzes, diaries…); the rest are stories. */
const FACTS_SHARE = 0.18;
const REGISTER_SHARE = 0.12;

export function corpusDocument(seed: number, split: Split, index: number): CorpusDocument {
  const r = new CorpusRng(hashSeed("sprig-corpus", seed, split, index));
  const x = r.next();
  if (x < FACTS_SHARE) return { kind: "facts", text: makeFacts(r) };
  if (x < FACTS_SHARE + REGISTER_SHARE) return { kind: "register", text: makeRegister(r) };
  const story = makeStory(r);
  return { kind: "story", text: story.text, story };
}

/** Documents of one split until their UTF-8 size reaches `bytes` (or `maxDocs`). */
export function* corpusDocuments(seed: number, split: Split, bytes: number, maxDocs = Infinity): Generator<CorpusDocument> {
  let total = 0;
  for (let i = 0; i < maxDocs && total < bytes; i++) {
    const d = corpusDocument(seed, split, i);
    total += Buffer.byteLength(d.text) + 2;
    yield d;
  }
}

/** Documents are separated by one blank line in text files (paragraphs inside use single newlines). */
export const DOC_SEPARATOR = "\n\n";

export function splitDocuments(text: string): string[] {
  return text.split(DOC_SEPARATOR).filter((d) => d.length > 0);
}
