// The `sprig` command line: one sub-command per file under src/cli/commands, wired with commander.

import { Command } from "commander";
import { registerFinetune } from "./commands/finetune.ts";
import { registerForward, registerGenerate } from "./commands/generate.ts";
import { registerHost } from "./commands/host.ts";
import { registerChat } from "./commands/chat.ts";
import { registerCluster } from "./commands/cluster.ts";
import { registerComplete } from "./commands/complete.ts";
import { registerData } from "./commands/data.ts";
import { registerDemo } from "./commands/demo.ts";
import { registerEndpoint } from "./commands/endpoint.ts";
import { registerKey } from "./commands/key.ts";
import { registerModel } from "./commands/model.ts";
import { registerNode } from "./commands/node.ts";
import { registerServe } from "./commands/serve.ts";
import { CliError } from "./errors.ts";

const program = new Command();
program.name("sprig").description("Sprig: fine-tune and serve many custom models on one base model.").showHelpAfterError();
registerGenerate(program);
registerForward(program);
registerHost(program);
registerFinetune(program);
registerServe(program);
registerKey(program);
registerCluster(program);
registerNode(program);
registerModel(program);
registerEndpoint(program);
registerData(program);
registerChat(program);
registerComplete(program);
registerDemo(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  const msg = e instanceof CliError ? e.message : e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  process.stderr.write(`sprig: ${msg}\n`);
  process.exitCode = e instanceof CliError ? e.exitCode : 1;
}
