// The hosting engine against the command line a user would check it with: every request of one mixed
// batch (base, T-Few and LoRA adapters from PEFT directories, and the T-Few adapter's merged weights as
// a full model directory) gets the ids `sprig generate [--adapter DIR]` prints for it alone.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { FIXTURES, GOLDEN_ADAPTERS, createEngine } from "./hosting-helpers.ts";

const MODEL = `${FIXTURES}/tiny-llama`;
const IA3 = `${GOLDEN_ADAPTERS}/tiny-llama-ia3/adapter`;
const LORA = `${GOLDEN_ADAPTERS}/tiny-llama-lora/adapter`;
const MERGED = `${GOLDEN_ADAPTERS}/tiny-llama-ia3/merged`;

function cli(model: string, adapter: string | null, prompt: number[], n: number): number[] {
  const args = [
    "bin/sprig.mjs",
    "generate",
    "--model",
    model,
    "--prompt-ids",
    prompt.join(","),
    "--max-tokens",
    String(n),
    "--temperature",
    "0",
    "--threads",
    "1",
    "--json",
  ];
  if (adapter) args.push("--adapter", adapter);
  const r = spawnSync(process.execPath, args, { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout.trim().split("\n").pop()!) as { ids: number[] }).ids;
}

test("a mixed batch equals `sprig generate --adapter` per request", async () => {
  const engine = await createEngine({ modelDir: MODEL, maxBatchSize: 3, threads: 1 });
  try {
    await engine.activate("ia3", IA3);
    await engine.activate("lora", LORA);
    const full = await engine.activate("merged", MERGED);
    assert.equal(full.kind, "full");
    const plan: Array<{ name: string | null; model: string; adapter: string | null; prompt: number[]; n: number }> = [
      { name: null, model: MODEL, adapter: null, prompt: [1, 5, 9, 22], n: 10 },
      { name: "ia3", model: MODEL, adapter: IA3, prompt: [1, 7], n: 12 },
      { name: "lora", model: MODEL, adapter: LORA, prompt: [1, 3, 4, 5, 6, 7, 8], n: 8 },
      { name: "merged", model: MERGED, adapter: null, prompt: [1, 100, 200], n: 9 },
      { name: "ia3", model: MODEL, adapter: IA3, prompt: [1, 42, 43, 44, 45], n: 11 },
    ];
    const got = await Promise.all(
      plan.map((q) => engine.submit({ adapter: q.name, promptIds: q.prompt, sampling: { temperature: 0, maxTokens: q.n } })),
    );
    plan.forEach((q, i) => assert.deepEqual(got[i]!.ids, cli(q.model, q.adapter, q.prompt, q.n), `request ${i} (${q.name ?? "base"})`));
  } finally {
    await engine.close();
  }
});
