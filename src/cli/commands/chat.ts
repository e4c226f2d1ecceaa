// `sprig chat`: talk to an endpoint through the OpenAI-compatible API, streaming the answer. With
// --message it answers once; without, it reads turns from stdin (a conversation, history kept).

import type { Command } from "commander";
import { createInterface } from "node:readline/promises";
import { type SprigClient, connect, withConnection, type ConnectionFlags } from "../../api/index.ts";
import { parseNumber } from "../parse.ts";

interface ChatFlags extends ConnectionFlags {
  endpoint: string;
  message?: string;
  system?: string;
  maxTokens: string;
  temperature: string;
  seed?: string;
}

async function turn(client: SprigClient, f: ChatFlags, messages: { role: string; content: string }[]): Promise<string> {
  let text = "";
  await client.sse(
    "/v1/chat/completions",
    {
      model: f.endpoint,
      messages,
      stream: true,
      max_tokens: parseNumber(f.maxTokens, "--max-tokens", { int: true, min: 1 }),
      temperature: parseNumber(f.temperature, "--temperature", { min: 0, max: 2 }),
      ...(f.seed ? { seed: parseNumber(f.seed, "--seed", { int: true }) } : {}),
    },
    (d) => {
      const delta = (d.choices as { delta?: { content?: string } }[] | undefined)?.[0]?.delta?.content ?? "";
      text += delta;
      process.stdout.write(delta);
    },
  );
  process.stdout.write("\n");
  return text;
}

export function registerChat(program: Command): void {
  withConnection(program.command("chat"))
    .description("chat with an endpoint (by id or display name); interactive unless --message is given")
    .requiredOption("--endpoint <idOrName>", "the endpoint")
    .option("--message <text>", "one message; print the answer and exit")
    .option("--system <text>", "a system message")
    .option("--max-tokens <n>", "most new tokens per answer", "256")
    .option("--temperature <t>", "0 = greedy", "0.7")
    .option("--seed <s>", "sampling seed")
    .action(async (f: ChatFlags) => {
      const client = connect(f);
      const messages = f.system ? [{ role: "system", content: f.system }] : [];
      if (f.message !== undefined) return void (await turn(client, f, [...messages, { role: "user", content: f.message }]));
      const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY });
      try {
        for (;;) {
          let line: string;
          try {
            line = await rl.question("> ");
          } catch {
            break; // stdin closed
          }
          if (!line.trim()) continue;
          messages.push({ role: "user", content: line });
          messages.push({ role: "assistant", content: await turn(client, f, messages) });
        }
      } finally {
        rl.close();
      }
    });
}
