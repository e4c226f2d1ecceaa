// `sprig generate` and `sprig forward`: run a model directory from the command line.

import type { Command } from "commander";
import { adapterHooks } from "../adapter-flag.ts";
import { defaultModelDir } from "../default-model.ts";
import { CliError } from "../errors.ts";
import { type LoadedModel, loadModel } from "../../models/index.ts";
import { generate } from "../../serving/index.ts";
import { ModelRunner, forwardAll } from "../../serving/index.ts";
import { samplingOptions } from "../../serving/index.ts";
import { parseIds, parseNumber } from "../parse.ts";

interface GenerateFlags {
  model?: string;
  prompt?: string;
  promptIds?: string;
  maxTokens: string;
  temperature: string;
  topK: string;
  topP: string;
  seed: string;
  stop?: string[];
  threads?: string;
  adapter?: string;
  json?: boolean;
}

export function registerGenerate(program: Command): void {
  program
    .command("generate")
    .description("generate text from a prompt with a Hugging Face model directory")
    .option("--model <dir>", "model directory (config.json, model.safetensors, tokenizer.json)")
    .option("--prompt <text>", "prompt text (needs the model's tokenizer; BOS added as the tokenizer says)")
    .option("--prompt-ids <ids>", "prompt token ids, comma-separated, fed exactly as given")
    .option("--max-tokens <n>", "most new tokens", "64")
    .option("--temperature <t>", "0 = greedy", "1")
    .option("--top-k <k>", "sample among the k most likely tokens (0 = off)", "0")
    .option("--top-p <p>", "nucleus sampling threshold (1 = off)", "1")
    .option("--seed <s>", "sampling seed", "0")
    .option("--stop <text...>", "stop sequences")
    .option("--threads <n>", "compute threads (default: all cores)")
    .option("--adapter <dir>", "apply a T-Few (IA3) or LoRA adapter directory (PEFT layout) to the model")
    .option("--json", "print one JSON object {ids, text, logprobs, finishReason}")
    .action(async (f: GenerateFlags) => {
      if ((f.prompt === undefined) === (f.promptIds === undefined)) throw new CliError("give exactly one of --prompt or --prompt-ids");
      const model = await load(f.model);
      const prompt = f.promptIds !== undefined ? parseIds(f.promptIds, "--prompt-ids") : await encode(model, f.prompt!);
      const sampling = samplingOptions({
        maxTokens: parseNumber(f.maxTokens, "--max-tokens", { int: true, min: 1 }),
        temperature: parseNumber(f.temperature, "--temperature", { min: 0 }),
        topK: parseNumber(f.topK, "--top-k", { int: true, min: 0 }),
        topP: parseNumber(f.topP, "--top-p", { min: 1e-9, max: 1 }),
        seed: parseNumber(f.seed, "--seed", { int: true }),
        stop: f.stop ?? [],
      });
      const hooks = f.adapter === undefined ? undefined : await adapterHooks(model, f.adapter);
      const runner = await ModelRunner.create(model, { threads: threads(f.threads), hooks });
      try {
        const stream = !f.json && model.tokenizer !== null;
        const [out] = await generate(runner, [prompt], [sampling], {
          tokenizer: model.tokenizer,
          onToken: stream ? (_row, _id, delta) => process.stdout.write(delta) : undefined,
        });
        if (f.json) process.stdout.write(`${JSON.stringify(out)}\n`);
        else if (stream) process.stdout.write("\n");
        else process.stdout.write(`${out!.ids.join(",")}\n`);
      } finally {
        await runner.dispose();
      }
    });
}

export function registerForward(program: Command): void {
  program
    .command("forward")
    .description("print the logits at every position for a list of token ids")
    .option("--model <dir>", "model directory")
    .requiredOption("--ids <ids>", "token ids, comma-separated")
    .option("--threads <n>", "compute threads")
    .option("--adapter <dir>", "apply a T-Few (IA3) or LoRA adapter directory (PEFT layout) to the model")
    .option("--json", 'print {"logits": [[…vocab floats…] per position]}')
    .action(async (f: { model?: string; ids: string; threads?: string; adapter?: string; json?: boolean }) => {
      const model = await load(f.model);
      const ids = parseIds(f.ids, "--ids");
      checkIds(model, ids, "--ids");
      const hooks = f.adapter === undefined ? undefined : await adapterHooks(model, f.adapter);
      const logits = await forwardAll(model, ids, { threads: threads(f.threads), hooks });
      const rows = logits.map((r) => Array.from(r));
      if (f.json) process.stdout.write(`${JSON.stringify({ logits: rows })}\n`);
      else rows.forEach((r, t) => process.stdout.write(`${t}\t${r.map((v) => v.toFixed(4)).join(" ")}\n`));
    });
}

async function load(dir: string | undefined): Promise<LoadedModel> {
  return loadModel(dir ?? defaultModelDir());
}

async function encode(model: LoadedModel, text: string): Promise<number[]> {
  if (!model.tokenizer) throw new CliError(`${model.dir} has no tokenizer.json: use --prompt-ids`);
  return model.tokenizer.encode(text, { addSpecialTokens: true });
}

function checkIds(model: LoadedModel, ids: number[], flag: string): void {
  const bad = ids.find((t) => t >= model.config.vocabSize);
  if (bad !== undefined) throw new CliError(`${flag}: token id ${bad} is outside the vocabulary [0, ${model.config.vocabSize})`);
  if (ids.length > model.config.maxPositions)
    throw new CliError(`${flag}: ${ids.length} tokens exceed the context of ${model.config.maxPositions}`);
}

function threads(v: string | undefined): number | undefined {
  return v === undefined ? undefined : parseNumber(v, "--threads", { int: true, min: 1 });
}
