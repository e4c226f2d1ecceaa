// `sprig generate` and `sprig forward` as a user runs them: JSON output shapes, greedy ids equal to the
// PyTorch golden continuation, and clear errors for bad flags.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { test } from "node:test";

const golden = JSON.parse(readFileSync("test/fixtures/golden/tiny-llama.json", "utf8")) as {
  ids: number[];
  logits: number[][];
  greedy: { prompt_ids: number[]; new_ids: number[] };
};
const sprig = (...args: string[]) => spawnSync(process.execPath, ["bin/sprig.mjs", ...args], { encoding: "utf8" });
const MODEL = "test/fixtures/models/tiny-llama";

test("generate --prompt-ids --temperature 0 --json gives the golden greedy ids", () => {
  const r = sprig(
    "generate",
    "--model",
    MODEL,
    "--prompt-ids",
    golden.greedy.prompt_ids.join(","),
    "--max-tokens",
    "16",
    "--temperature",
    "0",
    "--json",
  );
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { ids: number[]; text: string | null; finishReason: string };
  assert.deepEqual(out.ids, golden.greedy.new_ids);
  assert.equal(typeof out.text, "string");
  assert.equal(out.finishReason, "length");
});

test("generate --prompt encodes with the model's tokenizer and stops at --max-tokens", () => {
  const r = sprig("generate", "--model", MODEL, "--prompt", "The cat", "--max-tokens", "5", "--seed", "3", "--json");
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { ids: number[] };
  assert.ok(out.ids.length >= 1 && out.ids.length <= 5, `${out.ids}`);
});

test("forward --json prints logits for every position", () => {
  const r = sprig("forward", "--model", MODEL, "--ids", golden.ids.join(","), "--json");
  assert.equal(r.status, 0, r.stderr);
  const { logits } = JSON.parse(r.stdout) as { logits: number[][] };
  assert.equal(logits.length, golden.ids.length);
  let worst = 0;
  logits.forEach((row, t) => row.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - golden.logits[t]![i]!)))));
  assert.ok(worst < 1e-4, `max |Δ| ${worst}`);
});

test("bad input gets a one-line error and a non-zero exit", () => {
  const cases: Array<[string[], RegExp]> = [
    [["generate", "--model", MODEL, "--prompt-ids", "1,x"], /--prompt-ids: 'x' is not a token id/],
    [["generate", "--model", MODEL, "--prompt-ids", "1,99999"], /outside the vocabulary/],
    [["generate", "--model", MODEL], /exactly one of --prompt or --prompt-ids/],
    [["generate", "--model", MODEL, "--prompt-ids", "1", "--temperature", "-2"], /--temperature: must be ≥ 0/],
    [["generate", "--model", "no/such/dir", "--prompt-ids", "1"], /config\.json/],
    [["generate", "--model", "test/fixtures/models/stories260K-hf", "--prompt", "hi"], /no tokenizer\.json: use --prompt-ids/],
  ];
  for (const [args, pattern] of cases) {
    const r = sprig(...args);
    assert.notEqual(r.status, 0, args.join(" "));
    assert.match(r.stderr, pattern);
    assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace: ${r.stderr}`);
  }
});
