// The demo's datasets: a bundled task directory (train.jsonl + optional held-out test.jsonl) or a single
// JSONL file, read just enough to name it, tell choice tasks from completion tasks, and score answers.

import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { REPO_ROOT } from "../cli/index.ts";
import { CliError } from "../cli/index.ts";

/** The two bundled sets the demo fine-tunes on by default (see data/tasks/*). */
export const DEFAULT_DATASETS = ["demo-mood", "demo-record"].map((t) => join(REPO_ROOT, "data", "tasks", t));

/** One example as written in a task file. */
export interface TaskExample {
  prompt: string;
  completion?: string;
  choices?: string[];
  label?: number;
}

export interface DemoDataset {
  /** short name: the directory's (or file's) name, used for the custom model and its endpoint */
  name: string;
  train: string;
  /** examples to ask the endpoints: test.jsonl's, or the training file's when there is none */
  evalSet: TaskExample[];
  /** evalSet is held out (test.jsonl), not training data */
  heldOut: boolean;
  /** classification with answer choices (otherwise free completion) */
  choices: boolean;
}

function readExamples(file: string): TaskExample[] {
  const out: TaskExample[] = [];
  for (const [i, line] of readFileSync(file, "utf8").split("\n").entries()) {
    if (!line.trim()) continue;
    try {
      const x = JSON.parse(line) as TaskExample;
      if (typeof x.prompt === "string") out.push(x);
    } catch {
      throw new CliError(`${file}: line ${i + 1} is not JSON (the fine-tune would report every bad line)`);
    }
  }
  return out;
}

/** Resolve `--datasets` entries (task directories or JSONL files) into datasets with distinct names. */
export function resolveDatasets(paths: readonly string[]): DemoDataset[] {
  if (paths.length === 0) throw new CliError("--datasets: give at least one task directory or JSONL file");
  const sets = paths.map((p): DemoDataset => {
    const abs = resolve(p);
    if (!existsSync(abs)) throw new CliError(`--datasets: ${p} does not exist`);
    const dir = statSync(abs).isDirectory();
    const train = dir ? join(abs, "train.jsonl") : abs;
    if (!existsSync(train)) throw new CliError(`--datasets: ${p} has no train.jsonl`);
    const testFile = dir ? join(abs, "test.jsonl") : null;
    const trainExamples = readExamples(train);
    if (!trainExamples[0]) throw new CliError(`--datasets: ${train} holds no examples`);
    const heldOut = testFile !== null && existsSync(testFile);
    const evalSet = heldOut ? readExamples(testFile) : trainExamples;
    return { name: basename(abs).replace(/\.jsonl$/, ""), train, evalSet, heldOut, choices: Array.isArray(trainExamples[0].choices) };
  });
  const names = sets.map((s) => s.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new CliError(`--datasets: two datasets are named '${dup}'; rename one`);
  if (names.includes("base")) throw new CliError("--datasets: 'base' is the base model's endpoint name; rename that dataset");
  return sets;
}

/** The expected answer of an example, as text. */
export const expected = (x: TaskExample): string => (x.choices ? (x.choices[x.label ?? 0] ?? "") : (x.completion ?? "")).trim();

/** Is `answer` right? Choice tasks: its first word is the labelled choice; completions: exact match. */
export function isCorrect(x: TaskExample, answer: string): boolean {
  const want = expected(x);
  if (!x.choices) return answer.trim() === want;
  const word =
    answer
      .trim()
      .split(/\s+/)[0]
      ?.replace(/[.,!?;:]+$/, "") ?? "";
  return word.toLowerCase() === want.toLowerCase();
}

const words = (s: string) =>
  s
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);

/**
 * Word-overlap F1 of an answer against the expected completion (SQuAD's token F1 over words): partial
 * credit where exact match gives none, e.g. a record with four of five fields right.
 */
export function wordF1(x: TaskExample, answer: string): number {
  const want = words(expected(x));
  const got = words(answer);
  if (!want.length || !got.length) return want.length === got.length ? 1 : 0;
  const left = new Map<string, number>();
  for (const w of want) left.set(w, (left.get(w) ?? 0) + 1);
  let common = 0;
  for (const w of got) {
    const n = left.get(w) ?? 0;
    if (n > 0) {
      common++;
      left.set(w, n - 1);
    }
  }
  return (2 * common) / (want.length + got.length);
}
