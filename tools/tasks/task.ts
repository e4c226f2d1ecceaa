// What a task generator is: examples of one of the two JSONL shapes the trainer accepts, drawn from a
// seeded RNG per example index, with train and test drawn from separate seed streams and de-duplicated.

import { CorpusRng, hashSeed } from "../corpus/rng.ts";

export type Example = { prompt: string; completion: string } | { prompt: string; choices: string[]; label: number };

export interface Task {
  name: string;
  /** one paragraph for the task's README */
  description: string;
  /** example i from its own generator state */
  make(r: CorpusRng): Example;
}

export const TASK_SEED = 7;

/**
 * `n` examples of a split. Prompts already used (e.g. by the train split, passed in `exclude`) are
 * skipped, so no test prompt ever appears in training.
 */
export function generateSplit(task: Task, split: string, n: number, exclude: ReadonlySet<string> = new Set(), seed = TASK_SEED): Example[] {
  const out: Example[] = [];
  const seen = new Set(exclude);
  for (let i = 0; out.length < n; i++) {
    if (i > n * 20) throw new Error(`${task.name}: cannot find ${n} distinct ${split} examples`);
    const ex = task.make(new CorpusRng(hashSeed("sprig-task", seed, task.name, split, i)));
    if (seen.has(ex.prompt)) continue;
    seen.add(ex.prompt);
    out.push(ex);
  }
  return out;
}

export const toJsonl = (examples: readonly Example[]): string => examples.map((e) => JSON.stringify(e)).join("\n") + "\n";
