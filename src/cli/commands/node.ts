// `sprig node list`: the operator's admin view of nodes, their capacity and who holds which cores, read
// directly from the data directory's database (run on the server's machine; the service need not run).
// Over HTTP the same view is GET /20231130/admin/nodes with an admin key. `sprig node start`: a worker node
// of a multi-node service (node-start.ts).

import type { Command } from "commander";
import { Capacity, type CapacityView, cpuList } from "../../control/index.ts";
import { openStore, withDatabaseOption } from "../database-flag.ts";
import { registerNodeStart } from "./node-start.ts";
import { DEFAULT_DATA_DIR } from "./serve.ts";

const gib = (b: number): string => `${(b / 1024 ** 3).toFixed(1)} GiB`;

function table(view: CapacityView): string {
  if (!view.nodes.length) return "no node is registered yet: start the service (`npx sprig serve`) once on this data directory\n";
  const out: string[] = [];
  for (const n of view.nodes) {
    const used = n.cores.length - n.freeCores.length;
    out.push(
      `node ${n.id} (${n.name})${n.lost ? ` LOST (${n.lost.reason})` : ""}${n.address ? ` at ${n.address}` : ""}: ${used} of ${n.cores.length} cores reserved (cores ${cpuList(n.cores)}; free ${n.freeCores.length ? cpuList(n.freeCores) : "none"}), ` +
        `${gib(n.memoryBytes - n.freeMemoryBytes)} of ${gib(n.memoryBytes)} memory; pinning ${n.pinning.enabled ? "on" : `off (${n.pinning.reason})`}`,
    );
    for (const u of n.units)
      out.push(
        `  cores ${cpuList(u.cores).padEnd(6)} ${gib(u.memoryBytes).padStart(8)}  unit ${u.unitIndex} of ${u.type ?? "?"} cluster ${u.displayName ?? "?"} (${u.clusterId}, ${u.unitShape ?? "?"}, ${u.lifecycleState ?? "?"}) in ${u.compartmentId ?? "?"}`,
      );
  }
  return `${out.join("\n")}\n`;
}

export function registerNode(program: Command): void {
  const node = program.command("node").description("nodes and their capacity; start a worker node of a multi-node service");
  registerNodeStart(node);
  withDatabaseOption(node.command("list"))
    .description("list nodes, their cores and memory, and which cluster holds which unit")
    .option("--data-dir <dir>", "the service's data directory", DEFAULT_DATA_DIR)
    .option("--json", "print the admin view as JSON ({nodes: [...]}, as GET /20231130/admin/nodes)")
    .action(async (f: { dataDir: string; database?: string; json?: boolean }) => {
      const s = await openStore(f);
      try {
        const view = await new Capacity(s.nodes, async (id) => (await s.clusters.get(id))?.value ?? null).view();
        process.stdout.write(f.json ? `${JSON.stringify(view, null, 2)}\n` : table(view));
      } finally {
        await s.close();
      }
    });
}
