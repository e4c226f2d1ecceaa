// Small task directories for the tiny fixture model (context 64 tokens): one with answer choices, one
// prompt → completion, each with a train.jsonl of 40 and a test.jsonl of 6 examples.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const TINY_MODEL = join(process.cwd(), "test/fixtures/models/tiny-llama");

const WORDS = ["red", "blue", "green", "cat", "dog", "sun"];

const lines = (xs: object[]) => xs.map((x) => JSON.stringify(x)).join("\n") + "\n";
const completion = (n: number, off: number) => Array.from({ length: n }, (_, i) => ({ prompt: `Q${(i + off) % 6}:`, completion: ` ${WORDS[(i + off) % 6]}` }));
const choices = (n: number, off: number) => Array.from({ length: n }, (_, i) => ({ prompt: `N${(i + off) % 8} odd?`, choices: [" yes", " no"], label: (i + off) % 2 === 0 ? 1 : 0 }));

/** Write `tiny-choices/` and `tiny-words/` under `dir`; returns their paths. */
export function tinyTasks(dir: string): { choices: string; words: string } {
  const out = { choices: join(dir, "tiny-choices"), words: join(dir, "tiny-words") };
  for (const [d, make] of [[out.choices, choices], [out.words, completion]] as const) {
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, "train.jsonl"), lines(make(40, 0)));
    writeFileSync(join(d, "test.jsonl"), lines(make(6, 3)));
  }
  return out;
}
