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
