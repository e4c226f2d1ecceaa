// Demo step 5: traffic. Every held-out prompt of every dataset goes to every endpoint at once (OpenAI
// /v1/completions, greedy), so the base and custom models are batched together; the answers are scored,
// a few are shown side by side, and the burst gives the throughput.

import type { SprigClient } from "../api/index.ts";
import { type DemoDataset, type TaskExample, expected, isCorrect, wordF1 } from "./datasets.ts";
import type { DemoEndpoint } from "./hosting.ts";
import { type Say, clip, pct } from "./say.ts";

export interface Completion {
  text: string;
  completionTokens: number;
}

export async function ask(client: SprigClient, endpointId: string, prompt: string, maxTokens: number): Promise<Completion> {
  const { body } = await client.json<{ choices: { text: string }[]; usage: { completion_tokens: number } }>("POST", "/v1/completions", {
    model: endpointId,
    prompt,
    max_tokens: maxTokens,
    temperature: 0,
    stop: ["\n"],
  });
  return { text: body.choices[0]?.text ?? "", completionTokens: body.usage.completion_tokens };
}

/** Most new tokens for a dataset's answers: a word for choices, a line for completions. */
const maxTokensFor = (d: DemoDataset) => (d.choices ? 4 : 48);

export interface BurstResult {
  requests: number;
  completionTokens: number;
  seconds: number;
  /** accuracy[endpoint name][dataset name] on the held-out prompts (choice: first word; completion: exact match) */
  accuracy: Record<string, Record<string, number>>;
  /** completion datasets only: mean word-overlap F1, f1[endpoint name][dataset name] */
  f1: Record<string, Record<string, number>>;
  /** examples evaluated per dataset */
  evaluated: Record<string, number>;
}

export async function burst(
  client: SprigClient,
  endpoints: DemoEndpoint[],
  sets: DemoDataset[],
  perSet: number,
  show: number,
  say: Say,
): Promise<BurstResult> {
  const jobs: { ep: DemoEndpoint; d: DemoDataset; i: number; x: TaskExample }[] = [];
  for (const d of sets) for (const [i, x] of d.evalSet.slice(0, perSet).entries()) for (const ep of endpoints) jobs.push({ ep, d, i, x });
  say.detail(
    `${jobs.length} requests at once: ${sets.map((d) => `${Math.min(perSet, d.evalSet.length)} ${d.heldOut ? "held-out" : "training"} ${d.name} prompts`).join(" and ")}, each to ${endpoints.map((e) => e.name).join(", ")}`,
  );
  const t0 = performance.now();
  const answers = await Promise.all(jobs.map(async (j) => ({ ...j, a: await ask(client, j.ep.id, j.x.prompt, maxTokensFor(j.d)) })));
  const seconds = (performance.now() - t0) / 1000;
  const accuracy: BurstResult["accuracy"] = {};
  const f1: BurstResult["f1"] = {};
  const evaluated: BurstResult["evaluated"] = {};
  for (const ep of endpoints) {
    accuracy[ep.name] = {};
    f1[ep.name] = {};
    for (const d of sets) {
      const mine = answers.filter((r) => r.ep === ep && r.d === d);
      evaluated[d.name] = mine.length;
      if (!mine.length) continue;
      accuracy[ep.name]![d.name] = mine.filter((r) => isCorrect(r.x, r.a.text)).length / mine.length;
      if (!d.choices) f1[ep.name]![d.name] = mine.reduce((s, r) => s + wordF1(r.x, r.a.text), 0) / mine.length;
    }
  }
  for (const d of sets) {
    for (const x of d.evalSet.slice(0, Math.min(show, perSet))) {
      say.line();
      say.detail(`prompt   ${clip(x.prompt.slice(-110), 110)}`);
      say.detail(`expected ${clip(expected(x), 100)}`);
      for (const ep of endpoints) {
        const r = answers.find((a) => a.ep === ep && a.x === x)!;
        say.detail(`${ep.name.padEnd(12)} ${isCorrect(x, r.a.text) ? "✓" : "✗"} ${JSON.stringify(clip(r.a.text, 96))}`);
      }
    }
  }
  const completionTokens = answers.reduce((s, r) => s + r.a.completionTokens, 0);
  say.line();
  const cell = (ep: DemoEndpoint, d: DemoDataset) =>
    d.choices ? pct(accuracy[ep.name]![d.name]) : `${pct(accuracy[ep.name]![d.name])} exact, word F1 ${pct(f1[ep.name]![d.name])}`;
  say.table([
    [sets.every((d) => d.heldOut) ? "held-out accuracy" : "accuracy", ...sets.map((d) => `${d.name} (${evaluated[d.name]})`)],
    ...endpoints.map((ep) => [ep.name, ...sets.map((d) => cell(ep, d))]),
  ]);
  return { requests: jobs.length, completionTokens, seconds, accuracy, f1, evaluated };
}
