// `sprig demo`: the whole seed workflow against an embedded service in a few minutes — fine-tune two
// T-Few custom models on bundled datasets, host them with the base model, send traffic, switch an
// endpoint off and on — and a report. Flags swap the model and datasets (e.g. a tiny model in tests).

import type { Command } from "commander";
import { DEFAULT_DATASETS } from "../../demo/index.ts";
import { DEMO_LEARNING_RATE, runDemo } from "../../demo/index.ts";
import { defaultModelDir } from "../default-model.ts";
import { parseNumber } from "../parse.ts";

interface DemoFlags {
  model?: string;
  datasets?: string;
  dataDir?: string;
  keep?: boolean;
  json?: boolean;
  epochs?: string;
  learningRate: string;
  eval: string;
  show: string;
}

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("run the whole workflow (fine-tune, host, serve, switch endpoints) against an embedded service and report")
    .option("--model <dir>", "base model directory (default: the bundled models/sprig-base)")
    .option(
      "--datasets <list>",
      "comma-separated task directories (train.jsonl [+ test.jsonl]) or JSONL files (default: data/tasks/demo-mood,data/tasks/demo-record)",
    )
    .option("--data-dir <dir>", "service data directory, kept afterwards (default: a temporary one, removed)")
    .option("--keep", "keep the temporary data directory and print how to serve it again")
    .option("--epochs <n>", "training epochs for every dataset (default: 3 for answer-choice sets, 8 otherwise)")
    .option("--learning-rate <x>", "T-Few learning rate", String(DEMO_LEARNING_RATE))
    .option("--eval <n>", "prompts per dataset sent to every endpoint", "32")
    .option("--show <n>", "answers per dataset shown side by side", "2")
    .option("--json", "narrate on stderr; print the report as one JSON line on stdout")
    .action(async (f: DemoFlags) => {
      const report = await runDemo({
        modelDir: f.model ?? defaultModelDir(),
        datasets: f.datasets
          ? f.datasets
              .split(",")
              .map((s) => s.trim())
              .filter(Boolean)
          : DEFAULT_DATASETS,
        dataDir: f.dataDir,
        keep: Boolean(f.keep),
        json: Boolean(f.json),
        epochs: f.epochs === undefined ? undefined : parseNumber(f.epochs, "--epochs", { int: true, min: 1 }),
        learningRate: parseNumber(f.learningRate, "--learning-rate", { min: 1e-9, max: 10 }),
        evalPerSet: parseNumber(f.eval, "--eval", { int: true, min: 1 }),
        show: parseNumber(f.show, "--show", { int: true, min: 0 }),
      });
      if (f.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    });
}
