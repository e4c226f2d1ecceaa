// `sprig endpoint create|list|get|update|delete|activate|deactivate`: endpoints over the API.

import type { Command } from "commander";
import { connect, print, waitFor, withConnection, type ConnectionFlags } from "../../api/index.ts";

const P = "/20231130/endpoints";

export function registerEndpoint(program: Command): void {
  const e = program.command("endpoint").description("endpoints: a model served on a HOSTING cluster");
  withConnection(e.command("create"))
    .description("create an endpoint; prints it when ACTIVE (or at once with --no-wait)")
    .requiredOption("--model-id <id>", "the model to serve")
    .requiredOption("--cluster-id <id>", "a HOSTING cluster")
    .requiredOption("--compartment-id <id>", "compartment")
    .option("--name <name>", "display name (usable as the OpenAI `model`)")
    .option("--no-wait", "return at once (CREATING)")
    .action(async (f: ConnectionFlags & { modelId: string; clusterId: string; compartmentId: string; name?: string; wait: boolean }) => {
      const client = connect(f);
      const { body } = await client.json("POST", P, {
        compartmentId: f.compartmentId,
        modelId: f.modelId,
        dedicatedAiClusterId: f.clusterId,
        ...(f.name ? { displayName: f.name } : {}),
      });
      print(f.wait ? await waitFor(client, `${P}/${body.id}`, ["ACTIVE", "FAILED"]) : body);
    });
  withConnection(e.command("list"))
    .description("list endpoints")
    .option("--compartment-id <id>", "only this compartment")
    .action(async (f: ConnectionFlags & { compartmentId?: string }) =>
      print(await connect(f).all(`${P}${f.compartmentId ? `?compartmentId=${encodeURIComponent(f.compartmentId)}` : ""}`)),
    );
  withConnection(e.command("get <id>"))
    .description("show an endpoint")
    .action(async (id: string, f: ConnectionFlags) => print((await connect(f).json("GET", `${P}/${id}`)).body));
  withConnection(e.command("update <id>"))
    .description("rename an endpoint")
    .requiredOption("--name <name>", "display name")
    .action(async (id: string, f: ConnectionFlags & { name: string }) =>
      print((await connect(f).json("PUT", `${P}/${id}`, { displayName: f.name })).body),
    );
  for (const [cmd, done, what] of [
    ["activate", "ACTIVE", "serve again (INACTIVE → ACTIVE)"],
    ["deactivate", "INACTIVE", "stop serving (ACTIVE → INACTIVE); in-flight requests finish"],
  ] as const) {
    withConnection(e.command(`${cmd} <id>`))
      .description(what)
      .action(async (id: string, f: ConnectionFlags) => {
        const client = connect(f);
        await client.json("POST", `${P}/${id}/actions/${cmd}`);
        print(await waitFor(client, `${P}/${id}`, [done, "FAILED"], undefined, 100));
      });
  }
  withConnection(e.command("delete <id>"))
    .description("delete an endpoint (in-flight requests are cancelled)")
    .action(async (id: string, f: ConnectionFlags) => {
      const client = connect(f);
      await client.json("DELETE", `${P}/${id}`);
      print(await waitFor(client, `${P}/${id}`, ["DELETED", "FAILED"], undefined, 100));
    });
}
