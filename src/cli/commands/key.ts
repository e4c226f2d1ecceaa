// `sprig key create|list|revoke`: API keys, managed directly in the data directory's database (the
// server need not run; it sees new keys at once). A new key is printed once and never stored in clear.

import type { Command } from "commander";
import { openStore, withDatabaseOption } from "../database-flag.ts";
import { CliError } from "../errors.ts";
import { DEFAULT_DATA_DIR } from "./serve.ts";

export function registerKey(program: Command): void {
  const key = program.command("key").description("manage API keys (run on the server's machine)");
  withDatabaseOption(key.command("create"))
    .description("create an API key for one or more compartments (or an operator's --admin key); prints it once")
    .option("--compartment-id <id...>", "compartments the key may use (repeat or list)", [] as string[])
    .option("--admin", "the key may also use the admin view (GET /20231130/admin/nodes: nodes, capacity, every cluster's reservations)")
    .option("--name <name>", "a label for the key", "")
    .option("--data-dir <dir>", "the service's data directory", DEFAULT_DATA_DIR)
    .option("--json", 'print {"key", "id", "compartments"}')
    .action(async (f: { compartmentId: string[]; name: string; dataDir: string; database?: string; json?: boolean; admin?: boolean }) => {
      const comps = f.compartmentId
        .flatMap((c) => c.split(","))
        .map((c) => c.trim())
        .filter(Boolean);
      if (!comps.length && !f.admin)
        throw new CliError("--compartment-id: give at least one compartment id (or --admin for an operator's key)");
      const s = await openStore(f);
      try {
        const { key: secret, record } = await s.apiKeys.create(comps, f.name, { admin: f.admin === true });
        const who = [...comps, ...(record.admin ? ["the admin view"] : [])].join(", ");
        if (f.json)
          process.stdout.write(
            `${JSON.stringify({ key: secret, id: record.id, compartments: record.compartments, admin: record.admin })}\n`,
          );
        else process.stdout.write(`${secret}\n(key ${record.id} for ${who}; it is shown only now: store it safely)\n`);
      } finally {
        await s.close();
      }
    });
  withDatabaseOption(key.command("list"))
    .description("list API keys (never their secrets)")
    .option("--data-dir <dir>", "the service's data directory", DEFAULT_DATA_DIR)
    .action(async (f: { dataDir: string; database?: string }) => {
      const s = await openStore(f);
      try {
        process.stdout.write(`${JSON.stringify(await s.apiKeys.list(), null, 2)}\n`);
      } finally {
        await s.close();
      }
    });
  withDatabaseOption(key.command("revoke <keyId>"))
    .description("revoke an API key by its id (key_…)")
    .option("--data-dir <dir>", "the service's data directory", DEFAULT_DATA_DIR)
    .action(async (id: string, f: { dataDir: string; database?: string }) => {
      const s = await openStore(f);
      try {
        if (!(await s.apiKeys.revoke(id))) throw new CliError(`no live key ${id}`);
        process.stdout.write(`revoked ${id}\n`);
      } finally {
        await s.close();
      }
    });
}
