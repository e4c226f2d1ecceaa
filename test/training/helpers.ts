// Shared test helpers for training: golden batch feeds, and small JSONL datasets for the tiny fixtures.

import { readFileSync } from "node:fs";
import type { HostTensor } from "../../src/engine/index.ts";

/** input_ids / labels / position_ids of a golden batch.json (test/fixtures/golden/grad/<case>). */
export function batchFeeds(dir: string): Record<string, HostTensor> {
  const b = JSON.parse(readFileSync(`${dir}/batch.json`, "utf8")) as { input_ids: number[][]; labels: number[][] };
  const B = b.input_ids.length;
  const T = b.input_ids[0]!.length;
  const flat = (m: number[][]) => BigInt64Array.from(m.flat(), (v) => BigInt(v));
  return {
    input_ids: { dtype: "int64", shape: [B, T], data: flat(b.input_ids) },
    labels: { dtype: "int64", shape: [B, T], data: flat(b.labels) },
    position_ids: { dtype: "int64", shape: [B, T], data: flat(b.input_ids.map((r) => r.map((_, t) => t))) },
  };
}

/** A small learnable text dataset: "<a> plus <b> is" → " <a+b>" (numbers as words drawn from a seed). */
export function textDataset(n: number, seed = 1): string {
  const words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
  let s = seed;
  const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 16) % 5;
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = next();
    const b = next();
    lines.push(JSON.stringify({ prompt: `${words[a]} plus ${words[b]} is`, completion: ` ${words[a + b]}` }));
  }
  return `${lines.join("\n")}\n`;
}

/** Classification data with answer choices: the label picks the choice that names the prompt's parity. */
export function choiceDataset(n: number, seed = 2): string {
  let s = seed;
  const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 16) % 10;
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = next();
    lines.push(JSON.stringify({ prompt: `is ${a} even?`, choices: [" yes", " no"], label: a % 2 === 0 ? 0 : 1 }));
  }
  return `${lines.join("\n")}\n`;
}

/** The golden batch as `scoredOnly` graphs take it: score_index / score_labels instead of labels. */
export function scoredFeeds(dir: string): Record<string, HostTensor> {
  const b = JSON.parse(readFileSync(`${dir}/batch.json`, "utf8")) as { input_ids: number[][]; labels: number[][] };
  const T = b.input_ids[0]!.length;
  const index: bigint[] = [];
  const target: bigint[] = [];
  b.labels.forEach((row, r) =>
    row.forEach((l, t) => t > 0 && l !== -100 && (index.push(BigInt(r * (T - 1) + t - 1)), target.push(BigInt(l)))),
  );
  const { input_ids, position_ids } = batchFeeds(dir);
  return {
    input_ids: input_ids!,
    position_ids: position_ids!,
    score_index: { dtype: "int64", shape: [index.length], data: BigInt64Array.from(index) },
    score_labels: { dtype: "int64", shape: [target.length], data: BigInt64Array.from(target) },
  };
}
