// `sprig complete`: continue a prompt with an endpoint through the OpenAI-compatible API, streaming.

import type { Command } from "commander";
import { connect, print, withConnection, type ConnectionFlags } from "../../api/index.ts";
import { parseNumber } from "../parse.ts";

export function registerComplete(program: Command): void {
  withConnection(program.command("complete"))
    .description("complete a prompt with an endpoint (by id or display name)")
    .requiredOption("--endpoint <idOrName>", "the endpoint")
    .requiredOption("--prompt <text>", "the prompt")
    .option("--max-tokens <n>", "most new tokens", "64")
    .option("--temperature <t>", "0 = greedy", "0.7")
    .option("--stop <text...>", "stop sequences")
    .option("--seed <s>", "sampling seed")
    .option("--json", "print the whole response object instead of streaming text")
    .action(
      async (
        f: ConnectionFlags & {
          endpoint: string;
          prompt: string;
          maxTokens: string;
          temperature: string;
          stop?: string[];
          seed?: string;
          json?: boolean;
        },
      ) => {
        const client = connect(f);
        const body = {
          model: f.endpoint,
          prompt: f.prompt,
          max_tokens: parseNumber(f.maxTokens, "--max-tokens", { int: true, min: 1 }),
          temperature: parseNumber(f.temperature, "--temperature", { min: 0, max: 2 }),
          ...(f.stop ? { stop: f.stop } : {}),
          ...(f.seed ? { seed: parseNumber(f.seed, "--seed", { int: true }) } : {}),
        };
        if (f.json) return print((await client.json("POST", "/v1/completions", body)).body);
        await client.sse("/v1/completions", { ...body, stream: true }, (d) =>
          process.stdout.write((d.choices as { text: string }[] | undefined)?.[0]?.text ?? ""),
        );
        process.stdout.write("\n");
      },
    );
}
