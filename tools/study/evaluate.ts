// Test-set accuracy of a base model, optionally with an adapter: choice tasks by the highest
// length-normalized log-likelihood (T-Few's rule), generation tasks by exact match of the greedy
// completion (served through the hosting engine, batched).

import { readFile } from "node:fs/promises";
import type { Adapter } from "../../src/adapters/adapter.ts";
import { createIa3 } from "../../src/adapters/ia3.ts";
import { compile } from "../../src/engine/index.ts";
import type { LoadedModel } from "../../src/models/index.ts";
import { HostingEngine } from "../../src/serving/hosting/hosting-engine.ts";
import { type Example, parseDataset } from "../../src/training/data.ts";
import { paramFeeds } from "../../src/training/method-setup.ts";
import { evaluate } from "../../src/training/metrics.ts";
import { buildTrainGraph } from "../../src/training/train-graph.ts";

export interface TaskExample {
  prompt: string;
  completion?: string;
  choices?: string[];
  label?: number;
}

export async function readTask(path: string): Promise<TaskExample[]> {
  return (await readFile(path, "utf8"))
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as TaskExample);
}

export const isChoiceTask = (xs: readonly TaskExample[]): boolean => xs.every((x) => Array.isArray(x.choices));

/** The example's answer text (the labelled choice, or the completion). */
export const answerOf = (x: TaskExample): string => (x.choices ? x.choices[x.label!]! : x.completion!);

/**
 * Prepend up to `k` solved training examples to each prompt, as many as fit in `maxTokens` (measured with
 * the tokenizer), so that in-prompt (few-shot) learning gets its fair chance.
 */
export async function withShots(
  model: LoadedModel,
  tests: TaskExample[],
  shots: TaskExample[],
  k: number,
  maxTokens: number,
): Promise<TaskExample[]> {
  const tok = model.tokenizer!;
  const out: TaskExample[] = [];
  for (const t of tests) {
    const budget = maxTokens - (await tok.encode(t.prompt + longestAnswer(t), { addSpecialTokens: true })).length;
    let prefix = "";
    for (const s of shots.slice(0, k)) {
      const next = `${prefix}${s.prompt}${answerOf(s)}\n\n`;
      if ((await tok.encode(next, { addSpecialTokens: false })).length > budget) break;
      prefix = next;
    }
    out.push({ ...t, prompt: prefix + t.prompt });
  }
  return out;
}

const longestAnswer = (t: TaskExample) => (t.choices ? t.choices.reduce((a, c) => (c.length > a.length ? c : a), "") : t.completion!);

/** Evaluation of the test set through the trainer's own evaluation graph (teacher-forced). */
async function teacherForced(model: LoadedModel, adapter: Adapter | undefined, tests: TaskExample[], choices: boolean) {
  const examples: Example[] = await parseDataset(Buffer.from(tests.map((t) => JSON.stringify(t)).join("\n")), model, { minExamples: 1 });
  // an all-ones (IA)³ adapter is exactly the base model, so every candidate runs through one graph kind
  const a = adapter ?? createIa3(model.config);
  const method = a.config.peft_type === "IA3" ? "tfew" : "lora";
  const tg = buildTrainGraph(model, { method, adapter: a, choices, scoredOnly: !choices, withGrads: false });
  const c = await compile(tg.graph);
  try {
    const params = new Map([...a.tensors].map(([k, v]) => [k, v.data]));
    return await evaluate(c, examples, 8, choices ? "choices" : "scored", paramFeeds(tg, params));
  } finally {
    await c.dispose();
  }
}

/** Share of examples whose best length-normalized choice is the labelled one. */
export async function choiceAccuracy(model: LoadedModel, adapter: Adapter | undefined, tests: TaskExample[]): Promise<number> {
  return (await teacherForced(model, adapter, tests, true)).choiceAccuracy ?? 0;
}

/**
 * Share of the completions' tokens predicted exactly (argmax) given the reference so far — the trainer's
 * `finalAccuracy` on the test set.
 */
export async function tokenAccuracy(model: LoadedModel, adapter: Adapter | undefined, tests: TaskExample[]): Promise<number> {
  return (await teacherForced(model, adapter, tests, false)).accuracy;
}

/** Share of examples whose greedy completion equals the reference (surrounding whitespace ignored). */
export async function exactMatch(
  model: LoadedModel,
  adapter: Adapter | undefined,
  tests: TaskExample[],
  maxTokens: number,
): Promise<number> {
  const engine = await HostingEngine.create({ model, maxBatchSize: 32, maxQueue: 4096, maxQueuePerModel: 4096 });
  try {
    if (adapter) await engine.activate("candidate", adapter);
    const tok = model.tokenizer!;
    const results = await Promise.all(
      tests.map(async (t) => {
        const ids = await tok.encode(t.prompt, { addSpecialTokens: true });
        const g = await engine.submit({
          adapter: adapter ? "candidate" : null,
          promptIds: ids,
          sampling: { temperature: 0, maxTokens, stop: ["\n"] },
        });
        return (g.text ?? "").trim() === t.completion!.trim();
      }),
    );
    return results.filter(Boolean).length / tests.length;
  } finally {
    await engine.close();
  }
}

/** Test accuracy by the task's kind: choice accuracy, or token accuracy (+ exact match) for generation. */
export async function taskAccuracy(
  model: LoadedModel,
  adapter: Adapter | undefined,
  tests: TaskExample[],
  maxTokens: number,
): Promise<{ accuracy: number; exactMatch: number | null }> {
  if (isChoiceTask(tests)) return { accuracy: await choiceAccuracy(model, adapter, tests), exactMatch: null };
  return { accuracy: await tokenAccuracy(model, adapter, tests), exactMatch: await exactMatch(model, adapter, tests, maxTokens) };
}
