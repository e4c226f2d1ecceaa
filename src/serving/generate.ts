// Batched generation for a fixed set of prompts: one batched prefill, then decode steps until every row
// stops (stop token, stop sequence or max tokens). The continuous-batching hosting engine shares the
// per-row logic (`Sequence`) and the runner.

import type { SprigTokenizer } from "../models/index.ts";
import type { ModelRunner } from "./model-runner.ts";
import type { SamplingOptions } from "./sampling.ts";
import { type Generation, GenerationError, Sequence, promptProblem } from "./sequence.ts";

export { type FinishReason, type Generation, GenerationError } from "./sequence.ts";

export interface GenerateOptions {
  tokenizer?: SprigTokenizer | null;
  /** called for each emitted token of row `row` with its text delta ("" without a tokenizer) */
  onToken?: (row: number, id: number, delta: string) => void;
}

export async function generate(
  runner: ModelRunner,
  prompts: readonly (readonly number[])[],
  sampling: readonly SamplingOptions[],
  opts: GenerateOptions = {},
): Promise<Generation[]> {
  const cfg = runner.model.config;
  if (prompts.length === 0) return [];
  prompts.forEach((p, i) => {
    const why = promptProblem(cfg, p);
    if (why) throw new GenerationError(`prompt ${i}: ${why}`);
  });
  const tok = opts.tokenizer ?? null;
  const rows = prompts.map((p, i) => new Sequence(cfg, p, sampling[i]!, tok, Sequence.limitFor(cfg, p, sampling[i]!)));
  const cache = runner.newCache(prompts.length, Math.max(...rows.map((r) => r.limit)));

  const V = cfg.vocabSize;
  // rows read their logits in place (advance reuses the buffers only at the next step)
  let out = await runner.advance(
    cache,
    prompts.map((p) => ({ ids: p, pastLen: 0 })),
  );
  for (;;) {
    rows.forEach((r, b) =>
      r.accept(out.logits.subarray(b * V, (b + 1) * V), (id, delta) => opts.onToken?.(b, id, delta), out.logsumexp[b]),
    );
    if (rows.every((r) => r.done)) break;
    // finished rows still occupy their slot; they re-feed a token whose result is ignored
    out = await runner.advance(
      cache,
      rows.map((r) => ({ ids: [r.lastId], pastLen: r.done ? 0 : r.len })),
    );
    rows.forEach((r) => {
      if (!r.done) r.len++;
    });
  }
  return rows.map((r) => r.out);
}
