// `npm run pretrain-base [-- --resume] [--stop-after N] [--steps N] [--out DIR] [--workdir DIR]`: regenerates the corpus,
// trains the tokenizer, pre-trains the base model (checkpointed, resumable), writes the model directory
// with its training logs and summary, and evaluates the float16 weights actually shipped.

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadModel, loadTokenizer } from "../../src/models/index.ts";
import { DEFAULT_SEED, corpusDocuments } from "../corpus/corpus.ts";
import { DEFAULT_TRAIN_MB, DEFAULT_VALID_MB, corpusText, sha256 } from "../corpus/main.ts";
import { trainCorpusTokenizer } from "../tokenizer/main.ts";
import { writeTokenizer } from "../tokenizer/tokenizer-files.ts";
import { exportModel, writeLogCsv } from "./export.ts";
import { evaluateModel } from "./evaluate.ts";
import { paramCount } from "./init.ts";
import { plotLossCurve } from "./plot.ts";
import { writeCard } from "./card.ts";
import { packDocuments } from "./packing.ts";
import { BASE_RUN, BASE_SHAPE } from "./plan.ts";
import { hasCheckpoint, pretrain } from "./trainer.ts";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      resume: { type: "boolean", default: false },
      steps: { type: "string" },
      "stop-after": { type: "string" },
      threads: { type: "string" },
      out: { type: "string", default: "models/sprig-base" },
      workdir: { type: "string", default: ".sprig-cache/pretrain" },
    },
  });
  const run = {
    ...BASE_RUN,
    ...(values.steps ? { steps: Number(values.steps) } : {}),
    ...(values.threads ? { threads: Number(values.threads) } : {}),
  };
  const wall0 = Date.now();
  const log = (s: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);
  if (!values.resume && hasCheckpoint(values.workdir))
    throw new Error(`${values.workdir} holds a checkpoint: pass --resume, or delete it to start over`);
  mkdirSync(values.workdir, { recursive: true });

  const docs = (split: "train" | "valid", mb: number) => [...corpusDocuments(DEFAULT_SEED, split, mb * 1e6)].map((d) => d.text);
  const trainDocs = docs("train", DEFAULT_TRAIN_MB);
  const validDocs = docs("valid", DEFAULT_VALID_MB);
  const corpusSha = {
    train: sha256(corpusText(DEFAULT_SEED, "train", DEFAULT_TRAIN_MB)),
    valid: sha256(corpusText(DEFAULT_SEED, "valid", DEFAULT_VALID_MB)),
  };
  log(`corpus: ${trainDocs.length} train / ${validDocs.length} held-out documents`);

  const tokDir = join(values.workdir, "tokenizer");
  const bpe = trainCorpusTokenizer();
  writeTokenizer(tokDir, bpe, BASE_SHAPE.context);
  const tok = loadTokenizer(tokDir)!;
  log(`tokenizer: ${tok.vocabSize} tokens`);
  const train = await packDocuments(trainDocs, tok, BASE_SHAPE.context);
  const valid = await packDocuments(validDocs, tok, BASE_SHAPE.context);
  log(`packed: ${train.count} train chunks (${train.count * train.length} tokens), ${valid.count} held-out chunks of ${train.length}`);

  const result = await pretrain({
    shape: BASE_SHAPE,
    run,
    vocabSize: tok.vocabSize,
    train,
    valid,
    workdir: values.workdir,
    resume: values.resume,
    stopAfter: values["stop-after"] ? Number(values["stop-after"]) : undefined,
    print: log,
  });
  if (!result.done) {
    log(`stopped with a checkpoint in ${values.workdir}; continue with --resume`);
    return;
  }

  rmSync(values.out, { recursive: true, force: true });
  await exportModel(values.out, BASE_SHAPE, tok.vocabSize, result.weights, tokDir);
  writeLogCsv(values.out, result.log);
  plotLossCurve(values.out);
  const shipped = await evaluateModel(await loadModel(values.out), valid, run.batchSize, run.threads);
  log(`shipped float16 model: held-out loss ${shipped.loss.toFixed(4)} (ppl ${Math.exp(shipped.loss).toFixed(2)})`);

  const steps = result.log.filter((e) => e.type === "step");
  const ms = steps.map((e) => e.ms).sort((a, b) => a - b);
  const summary = {
    parameters: paramCount(result.weights),
    shape: BASE_SHAPE,
    run,
    vocabSize: tok.vocabSize,
    corpus: {
      seed: DEFAULT_SEED,
      trainMb: DEFAULT_TRAIN_MB,
      validMb: DEFAULT_VALID_MB,
      trainDocuments: trainDocs.length,
      validDocuments: validDocs.length,
      sha256: corpusSha,
      trainTokens: train.count * train.length,
      validTokens: valid.count * valid.length,
    },
    tokensSeen: run.steps * run.batchSize * BASE_SHAPE.context,
    epochs: (run.steps * run.batchSize) / train.count,
    stepMs: { median: ms[ms.length >> 1], p10: ms[Math.floor(ms.length * 0.1)], p90: ms[Math.floor(ms.length * 0.9)] },
    trainingSeconds: Math.round(ms.reduce((a, b) => a + b, 0) / 1000),
    finalTrainLoss: steps.slice(-50).reduce((a, e) => a + e.loss, 0) / Math.min(50, steps.length),
    heldOut: { float32Loss: result.finalValidLoss, float16Loss: shipped.loss, perplexity: Math.exp(shipped.loss), tokens: shipped.tokens },
    machine: { cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? "unknown", node: process.version, sharedWithOtherJobs: true },
    wallSecondsThisInvocation: Math.round((Date.now() - wall0) / 1000),
  };
  writeFileSync(join(values.out, "training_summary.json"), JSON.stringify(summary, null, 2) + "\n");
  try {
    writeCard(values.out, "bin/sprig.mjs", (Date.now() - wall0) / 60000);
  } catch (e) {
    log(`the model card could not be written (${(e as Error).message.split("\n")[0]}); run: node --import tsx tools/pretrain/card.ts`);
  }
  log(`wrote ${values.out}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
