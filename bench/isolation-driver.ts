// One tenant's side of the isolation bench, as a process of its own: it starts one hosting unit (a real
// worker process) and is that unit's client, so the unit's request traffic (IPC, one message per token) is
// handled on the cores the parent started this driver on, not on the other tenant's. Commands arrive by
// IPC from bench/isolation.ts; each answer names the command it answers.

import { readFileSync, readdirSync } from "node:fs";
import type { UnitSpec } from "../src/control/executors.ts";
import type { HostingPoolProcess } from "../src/control/workers/hosting-pool.ts";
import { type LoadResult, type LoadShape, drive, loadPool, loadPrompt, measure } from "../src/control/workers/unit-throughput.ts";

export type DriverCommand =
  | { type: "start"; modelDir: string; unit: UnitSpec; name: string }
  | { type: "measure"; load: LoadShape; seconds: number }
  | { type: "drive"; load: LoadShape }
  | { type: "stop" }
  | { type: "close" };

/** Where a process and each of its threads may run (Linux's Cpus_allowed_list, one entry per distinct value). */
export interface Affinity {
  pid: number;
  threads: number;
  cpus: string[];
}

export type DriverReply =
  | { type: "started"; driver: Affinity; workers: Affinity[] }
  | { type: "measured"; result: LoadResult }
  | { type: "stopped"; result: LoadResult }
  | { type: "driving" | "closed" }
  | { type: "error"; message: string };

export function affinity(pid: number): Affinity {
  const cpusOf = (file: string) => /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(file, "utf8"))?.[1] ?? "?";
  const tids = readdirSync(`/proc/${pid}/task`);
  return { pid, threads: tids.length, cpus: [...new Set(tids.map((t) => cpusOf(`/proc/${pid}/task/${t}/status`)))] };
}

let pool: HostingPoolProcess | null = null;
let prompt: ReturnType<typeof loadPrompt> | null = null;
let load: { stop(): Promise<LoadResult> } | null = null;
const reply = (m: DriverReply) => process.send?.(m);

async function handle(m: DriverCommand): Promise<DriverReply> {
  if (m.type === "start") {
    pool = await loadPool(m.modelDir, [m.unit], m.name);
    prompt = loadPrompt(m.modelDir);
    return { type: "started", driver: affinity(process.pid), workers: pool.pids.map(affinity) };
  }
  if (m.type === "close") {
    await load?.stop();
    await pool?.close();
    return { type: "closed" };
  }
  if (!pool || !prompt) throw new Error("the driver has no unit yet: send start first");
  if (m.type === "measure") return { type: "measured", result: await measure(pool, prompt, m.load, m.seconds) };
  if (m.type === "drive") {
    load = drive(pool, prompt, m.load);
    return { type: "driving" };
  }
  if (!load) throw new Error("stop without drive");
  const result = await load.stop();
  load = null;
  return { type: "stopped", result };
}

if (process.send) {
  process.on("message", (m: DriverCommand) =>
    handle(m).then(
      (r) => {
        reply(r);
        if (r.type === "closed") process.disconnect();
      },
      (e: Error) => reply({ type: "error", message: e.message }),
    ),
  );
  process.on("disconnect", () => void pool?.close().finally(() => process.exit(0)));
}
