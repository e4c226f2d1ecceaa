// `sprig finetune`: train a T-Few / LoRA adapter or a vanilla fine-tuned model from a JSONL file, with a
// progress bar on a terminal (plain log lines otherwise), Ctrl-C → checkpoint, and --resume.

import { readFileSync } from "node:fs";
import cliProgress from "cli-progress";
import type { Command } from "commander";
import { DataError } from "../../training/index.ts";
import { type TrainingConfigInput, TrainingConfigError } from "../../training/index.ts";
import { FineTuneAbortedError, FineTuneError, type FineTuneProgress, fineTune } from "../../training/index.ts";
import { defaultModelDir } from "../default-model.ts";
import { CliError } from "../errors.ts";
import { parseNumber, parseNumberOrAuto } from "../parse.ts";
import { METHOD_NAMES } from "../../training/index.ts";

interface Flags {
  model?: string;
  data: string;
  validationData?: string;
  method: string;
  out: string;
  config?: string;
  epochs?: string;
  learningRate?: string;
  batchSize?: string;
  optimizer?: string;
  seed?: string;
  shuffle: boolean;
  valSplit?: string;
  loraR?: string;
  loraAlpha?: string;
  loraDropout?: string;
  loraTargets?: string;
  numLastLayers?: string;
  checkpointEvery?: string;
  gradAccum?: string;
  maxGradNorm?: string;
  warmupRatio?: string;
  weightDecay?: string;
  earlyStoppingPatience?: string;
  logEvery?: string;
  threads?: string;
  resume?: boolean;
  initAdapter?: string;
  json?: boolean;
}

const OPTIMIZERS = ["adamw", "adafactor", "sgd"] as const;

export function registerFinetune(program: Command): void {
  program
    .command("finetune")
    .description("fine-tune a base model on a JSONL file: T-Few or LoRA adapter (PEFT layout), or a vanilla fine-tuned model")
    .option("--model <dir>", "base model directory")
    .requiredOption(
      "--data <file>",
      'JSONL, one {"prompt", "completion"} per line (or prompt_ids/completion_ids, choices + label, or chat messages)',
    )
    .option("--validation-data <file>", "JSONL validation set in the same format (default: hold out --val-split of --data)")
    .requiredOption("--method <method>", "tfew | lora | vanilla")
    .requiredOption("--out <dir>", "output directory (must not exist; appears complete when training ends)")
    .option("--config <file>", "JSON training config with OCI's names (totalTrainingEpochs, learningRate, …); flags override it")
    .option("--epochs <n>", "totalTrainingEpochs, or auto (default: about 150 optimizer steps, 2–40 epochs)")
    .option("--learning-rate <x>", "peak learning rate, or auto (default: per method and base-model size; docs/hyperparameters.md)")
    .option("--batch-size <n>", "trainingBatchSize, or auto (default: 4 up to 64 training examples, 8 up to 2000, then 16)")
    .option("--optimizer <name>", "adamw | adafactor | sgd (default: T-Few adafactor, else adamw)")
    .option("--seed <s>", "seed of the split, shuffling, LoRA init and dropout (default 0)")
    .option("--no-shuffle", "keep file order instead of reshuffling every epoch")
    .option("--val-split <f>", "share held out for validation, 0 = none (default 0.2)")
    .option("--lora-r <n>", "LoRA rank (default 8)")
    .option("--lora-alpha <x>", "LoRA alpha (default 16)")
    .option("--lora-dropout <p>", "LoRA dropout (default 0.1)")
    .option("--lora-targets <names>", "LoRA target modules, comma-separated (default q_proj,v_proj; GPT-2 c_attn)")
    .option("--num-last-layers <n>", "vanilla: train only the last N layers (default all weights)")
    .option("--checkpoint-every <n>", "checkpoint every N optimizer steps, 0 = only on Ctrl-C (default 50)")
    .option("--grad-accum <n>", "micro-batches per optimizer step (default 1)")
    .option("--max-grad-norm <x>", "clip gradients to this global norm, 0 = off (default 1)")
    .option("--warmup-ratio <f>", "share of steps warming the learning rate up (default 0.06)")
    .option("--weight-decay <x>", "decoupled weight decay (default: vanilla 0.01, else 0)")
    .option("--early-stopping-patience <n>", "evaluations without improvement before stopping, 0 = never (default 15)")
    .option("--log-every <n>", "logModelMetricsIntervalInSteps: validate and record history every N steps (default 10)")
    .option("--threads <n>", "compute threads (default: all cores)")
    .option("--resume", "continue the interrupted run for --out from its last checkpoint")
    .option("--init-adapter <dir>", "T-Few/LoRA: start from this adapter (fine-tune a custom model further) instead of a fresh one")
    .option("--json", "print the final metrics as one JSON object on the last line of stdout")
    .action(async (f: Flags) => {
      const method = choose(f.method, METHOD_NAMES, "--method");
      const config = trainingConfig(f);
      const tty = process.stderr.isTTY === true && !f.json;
      const bar = tty
        ? new cliProgress.SingleBar(
            {
              format: "training |{bar}| {value}/{total} steps · epoch {epoch} · loss {loss} · {tps} tok/s · ETA {eta_formatted}",
              hideCursor: true,
            },
            cliProgress.Presets.shades_classic,
          )
        : null;
      let started = false;
      const controller = new AbortController();
      const onSigint = () => {
        if (controller.signal.aborted) process.exit(130);
        controller.abort();
        process.stderr.write("\nstopping after this step (Ctrl-C again to quit at once)…\n");
      };
      process.on("SIGINT", onSigint);
      // above a running bar: clear its line; the next update draws it again
      const logLine = (msg: string) => process.stderr.write(bar && started ? `\r\x1b[K${msg}\n` : `${msg}\n`);
      const onProgress = (p: FineTuneProgress) => {
        const payload = { epoch: p.epoch, loss: p.trainLoss.toFixed(4), tps: Math.round(p.tokensPerSecond) };
        if (bar) {
          if (!started) bar.start(p.totalSteps, 0, payload);
          started = true;
          bar.update(p.step, payload);
        } else
          process.stderr.write(
            `step ${p.step}/${p.totalSteps} epoch ${p.epoch} loss ${p.trainLoss.toFixed(4)} lr ${p.lr.toExponential(2)} ${Math.round(p.tokensPerSecond)} tok/s\n`,
          );
      };
      try {
        const r = await fineTune(
          {
            model: f.model ?? defaultModelDir(),
            data: f.data,
            validationData: f.validationData,
            method,
            out: f.out,
            config,
            resume: f.resume === true,
            threads: int(f.threads, "--threads", 1),
            initAdapter: f.initAdapter,
          },
          { onProgress, onLog: logLine, signal: controller.signal },
        );
        bar?.stop();
        const m = r.metrics;
        if (f.json) process.stdout.write(`${JSON.stringify(m)}\n`);
        else
          process.stdout.write(
            `${r.outDir}\nfinal loss ${m.finalLoss.toFixed(4)} · accuracy ${(100 * m.finalAccuracy).toFixed(1)}% (${m.evaluatedOn}) · ${m.steps} steps${m.stoppedEarly ? " (stopped early)" : ""}\n`,
          );
      } catch (e) {
        bar?.stop();
        throw asCliError(e);
      } finally {
        process.off("SIGINT", onSigint);
      }
    });
}

function asCliError(e: unknown): unknown {
  if (e instanceof DataError) {
    const lines = e.lines.map((l) => `\n  line ${l.line}: ${l.reason}`).join("");
    return new CliError(`${e.message}${lines}`);
  }
  if (e instanceof FineTuneAbortedError)
    return new CliError(`interrupted after step ${e.step}; continue with the same command and --resume`, 130);
  if (e instanceof FineTuneError || e instanceof TrainingConfigError || e instanceof RangeError) return new CliError(e.message);
  return e;
}

function trainingConfig(f: Flags): TrainingConfigInput {
  let base: Record<string, unknown> = {};
  if (f.config) {
    try {
      base = JSON.parse(readFileSync(f.config, "utf8")) as Record<string, unknown>;
    } catch (e) {
      throw new CliError(`--config ${f.config}: ${(e as Error).message}`);
    }
  }
  const num = (v: string | undefined, flag: string, o: { int?: boolean; min?: number; max?: number } = {}) =>
    v === undefined ? undefined : parseNumber(v, flag, o);
  const numOrAuto = (v: string | undefined, flag: string, o: { int?: boolean; min?: number } = {}) =>
    v === undefined ? undefined : parseNumberOrAuto(v, flag, o);
  const flags: Record<string, unknown> = {
    totalTrainingEpochs: numOrAuto(f.epochs, "--epochs", { int: true, min: 1 }),
    learningRate: numOrAuto(f.learningRate, "--learning-rate", { min: 0 }),
    trainingBatchSize: numOrAuto(f.batchSize, "--batch-size", { int: true, min: 1 }),
    optimizer: f.optimizer === undefined ? undefined : choose(f.optimizer, OPTIMIZERS, "--optimizer"),
    seed: num(f.seed, "--seed", { int: true, min: 0 }),
    shuffle: f.shuffle === false ? false : undefined,
    validationSplit: num(f.valSplit, "--val-split", { min: 0, max: 0.9 }),
    loraR: num(f.loraR, "--lora-r", { int: true, min: 1 }),
    loraAlpha: num(f.loraAlpha, "--lora-alpha", { min: 0 }),
    loraDropout: num(f.loraDropout, "--lora-dropout", { min: 0, max: 0.95 }),
    loraTargetModules: f.loraTargets
      ?.split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    numOfLastLayers: num(f.numLastLayers, "--num-last-layers", { int: true, min: 1 }),
    checkpointEveryNSteps: num(f.checkpointEvery, "--checkpoint-every", { int: true, min: 0 }),
    gradientAccumulationSteps: num(f.gradAccum, "--grad-accum", { int: true, min: 1 }),
    maxGradNorm: num(f.maxGradNorm, "--max-grad-norm", { min: 0 }),
    warmupRatio: num(f.warmupRatio, "--warmup-ratio", { min: 0, max: 1 }),
    weightDecay: num(f.weightDecay, "--weight-decay", { min: 0, max: 1 }),
    earlyStoppingPatience: num(f.earlyStoppingPatience, "--early-stopping-patience", { int: true, min: 0 }),
    logModelMetricsIntervalInSteps: num(f.logEvery, "--log-every", { int: true, min: 1 }),
  };
  for (const [k, v] of Object.entries(flags)) if (v !== undefined) base[k] = v;
  return base as TrainingConfigInput;
}

function choose<T extends string>(v: string, allowed: readonly T[], flag: string): T {
  if (!(allowed as readonly string[]).includes(v)) throw new CliError(`${flag}: '${v}' is not one of ${allowed.join(", ")}`);
  return v as T;
}

function int(v: string | undefined, flag: string, min: number): number | undefined {
  return v === undefined ? undefined : parseNumber(v, flag, { int: true, min });
}
