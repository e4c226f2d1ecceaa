// `sprig cluster create|list|get|update|delete`: dedicated AI clusters over the API.

import type { Command } from "commander";
import { connect, print, waitFor, withConnection, type ConnectionFlags } from "../../api/index.ts";
import { parseNumber } from "../parse.ts";
import { registerClusterSize } from "./cluster-size.ts";

const P = "/20231130/dedicatedAiClusters";

export function registerCluster(program: Command): void {
  const c = program.command("cluster").description("dedicated AI clusters (FINE_TUNING or HOSTING)");
  withConnection(c.command("create"))
    .description("create a cluster; prints it when ACTIVE (or at once with --no-wait)")
    .requiredOption("--type <type>", "FINE_TUNING or HOSTING")
    .requiredOption("--compartment-id <id>", "compartment")
    .option("--unit-count <n>", "units = worker processes (replicas), each on cores reserved for it", "1")
    .option(
      "--unit-shape <shape>",
      "SPRIG_CPU_SMALL (1 core, 2 GiB per unit; default), SPRIG_CPU_MEDIUM (2, 4 GiB) or SPRIG_CPU_LARGE (4, 8 GiB)",
    )
    .option("--name <name>", "display name")
    .option("--no-wait", "return at once (CREATING)")
    .action(
      async (
        f: ConnectionFlags & { type: string; compartmentId: string; unitCount: string; unitShape?: string; name?: string; wait: boolean },
      ) => {
        const client = connect(f);
        const { body } = await client.json("POST", P, {
          compartmentId: f.compartmentId,
          type: f.type.toUpperCase(),
          unitCount: parseNumber(f.unitCount, "--unit-count", { int: true, min: 1 }),
          ...(f.unitShape ? { unitShape: f.unitShape } : {}),
          ...(f.name ? { displayName: f.name } : {}),
        });
        print(f.wait ? await waitFor(client, `${P}/${body.id}`, ["ACTIVE", "FAILED", "NEEDS_ATTENTION"]) : body);
      },
    );
  registerClusterSize(c);
  withConnection(c.command("list"))
    .description("list clusters")
    .option("--compartment-id <id>", "only this compartment")
    .action(async (f: ConnectionFlags & { compartmentId?: string }) =>
      print(await connect(f).all(`${P}${f.compartmentId ? `?compartmentId=${encodeURIComponent(f.compartmentId)}` : ""}`)),
    );
  withConnection(c.command("get <id>"))
    .description("show a cluster")
    .action(async (id: string, f: ConnectionFlags) => print((await connect(f).json("GET", `${P}/${id}`)).body));
  withConnection(c.command("update <id>"))
    .description("change a cluster's unit count or name")
    .option("--unit-count <n>", "units (resizes a running hosting cluster)")
    .option("--name <name>", "display name")
    .action(async (id: string, f: ConnectionFlags & { unitCount?: string; name?: string }) => {
      const body = {
        ...(f.unitCount ? { unitCount: parseNumber(f.unitCount, "--unit-count", { int: true, min: 1 }) } : {}),
        ...(f.name ? { displayName: f.name } : {}),
      };
      const client = connect(f);
      await client.json("PUT", `${P}/${id}`, body);
      print(await waitFor(client, `${P}/${id}`, ["ACTIVE", "FAILED", "NEEDS_ATTENTION"]));
    });
  withConnection(c.command("delete <id>"))
    .description("delete a cluster (refused while it has endpoints or fine-tunes)")
    .action(async (id: string, f: ConnectionFlags) => {
      const client = connect(f);
      await client.json("DELETE", `${P}/${id}`);
      print(await waitFor(client, `${P}/${id}`, ["DELETED", "FAILED"]));
    });
}
