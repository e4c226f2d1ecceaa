// The trained weights as a Hugging Face model directory: config.json, generation_config.json,
// model.safetensors (float16), the tokenizer files, and the training log as CSV.

import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeSafetensors } from "../../src/models/io/safetensors.ts";
import type { HostWeight } from "./init.ts";
import { BOS_ID, EOS_ID, type ModelShape, hfConfigJson } from "./plan.ts";
import type { LogEntry } from "./trainer.ts";

export async function exportModel(
  dir: string,
  shape: ModelShape,
  vocabSize: number,
  weights: ReadonlyMap<string, HostWeight>,
  tokenizerDir: string,
): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify(hfConfigJson(shape, vocabSize), null, 2) + "\n");
  writeFileSync(join(dir, "generation_config.json"), JSON.stringify({ bos_token_id: BOS_ID, eos_token_id: EOS_ID }, null, 2) + "\n");
  const tensors: Record<string, { dtype: "F16"; shape: number[]; data: Float32Array }> = {};
  for (const [k, w] of weights) tensors[k] = { dtype: "F16", shape: w.shape, data: w.data };
  await writeSafetensors(join(dir, "model.safetensors"), tensors, { format: "pt" });
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) copyFileSync(join(tokenizerDir, f), join(dir, f));
}

/** step,lr,loss,grad_norm,ms,tokens rows and step,held_out_loss,tokens rows. */
export function writeLogCsv(dir: string, log: readonly LogEntry[]): void {
  const steps = log.filter((e) => e.type === "step");
  const evals = log.filter((e) => e.type === "eval");
  writeFileSync(
    join(dir, "train_loss.csv"),
    "step,lr,loss,grad_norm,ms,tokens\n" +
      steps.map((e) => `${e.step},${e.lr.toExponential(4)},${e.loss.toFixed(5)},${e.gradNorm.toFixed(4)},${e.ms},${e.tokens}`).join("\n") +
      "\n",
  );
  writeFileSync(
    join(dir, "eval_loss.csv"),
    "step,held_out_loss,perplexity,tokens\n" +
      evals.map((e) => `${e.step},${e.loss.toFixed(5)},${Math.exp(e.loss).toFixed(4)},${e.tokens}`).join("\n") +
      "\n",
  );
}
