// Isolation benchmark: does one tenant's load slow another's? Endpoint A (one hosting unit) serves a fixed
// closed-loop load alone, then while cluster B on the same machine is saturated, in two set-ups in one run:
//   pinned   — each unit pinned to a core of its own (taskset) with a 1-thread ONNX Runtime pool: Sprig's units;
//   unpinned — no affinity, each unit's pool sized to every core: how units ran before reservations.
// Each tenant's client is a driver process of its own (isolation-driver.ts) that talks to its unit's worker
// directly (no HTTP server), pinned with the unit in the pinned set-up: the per-token traffic of B is then
// handled on B's core, so the ratio measures the units' isolation, not a shared client's. The affinity of
// every process and thread is read from /proc and printed; a "pinned" run whose processes are not pinned
// stops with an error. Prints A's tokens/s and the loaded/alone ratios (median of --rounds). With --json
// the last line is one object with pinned_loaded_over_alone and unpinned_loaded_over_alone.
// Flags: --json, --model=DIR (models/sprig-base), --seconds=S (4 per measurement), --rounds=N (3),
// --concurrency=N (A's requests in flight, 4), --load=N (B's, 32), --tokens=N (64 per request).

import type { ChildProcess } from "node:child_process";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import type { UnitSpec } from "../src/control/executors.ts";
import { allowedCpus, localNode } from "../src/control/nodes.ts";
import { cpuList } from "../src/control/placement.ts";
import { forkWorker } from "../src/control/workers/fork.ts";
import type { LoadResult, LoadShape } from "../src/control/workers/unit-throughput.ts";
import type { Affinity, DriverCommand, DriverReply } from "./isolation-driver.ts";

const GiB = 1024 ** 3;

function flag(args: string[], name: string, dflt: number): number {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  const v = a ? Number(a.slice(name.length + 3)) : dflt;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name}: expected a positive number, got ${a}`);
  return v;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** A tenant: a driver process (bench/isolation-driver.ts) on `cores` (null: unpinned) that owns one unit. */
class Tenant {
  private waiting: ((r: DriverReply) => void) | null = null;
  private constructor(private readonly child: ChildProcess) {
    child.on("message", (r: DriverReply) => this.waiting?.(r));
    child.on("exit", (code, signal) => this.waiting?.({ type: "error", message: `the driver exited (${signal ?? `code ${code}`})` }));
  }

  static async start(
    name: string,
    modelDir: string,
    unit: UnitSpec,
    cores: number[] | null,
  ): Promise<{ t: Tenant; started: Extract<DriverReply, { type: "started" }> }> {
    const t = new Tenant(forkWorker(new URL("./isolation-driver.ts", import.meta.url).href, { cores, heapMb: null }));
    const started = await t.call({ type: "start", modelDir, unit, name }, "started");
    return { t, started };
  }

  call<K extends DriverReply["type"]>(cmd: DriverCommand, want: K): Promise<Extract<DriverReply, { type: K }>> {
    return new Promise((resolve, reject) => {
      this.waiting = (r) => {
        this.waiting = null;
        if (r.type === want) resolve(r as Extract<DriverReply, { type: K }>);
        else reject(new Error(r.type === "error" ? r.message : `driver answered ${r.type} to ${cmd.type}`));
      };
      this.child.send(cmd);
    });
  }

  measure = (load: LoadShape, seconds: number): Promise<LoadResult> =>
    this.call({ type: "measure", load, seconds }, "measured").then((r) => r.result);
  drive = (load: LoadShape) => this.call({ type: "drive", load }, "driving");
  stop = (): Promise<LoadResult> => this.call({ type: "stop" }, "stopped").then((r) => r.result);
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = new Promise((res) => this.child.once("exit", res));
    await this.call({ type: "close" }, "closed").catch(() => this.child.kill("SIGKILL"));
    await gone;
  }
}

const where = (a: Affinity) => `pid ${a.pid} (${a.threads} threads) on CPUs ${a.cpus.join(" | ")}`;

interface Setup {
  name: "pinned" | "unpinned";
  a: UnitSpec;
  b: UnitSpec;
  /** where each tenant's driver (its client) runs; null: unpinned */
  aDriver: number[] | null;
  bDriver: number[] | null;
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes("--json");
  const modelArg = args.find((x) => x.startsWith("--model="));
  const modelDir = modelArg ? modelArg.slice(8) : fileURLToPath(new URL("../models/sprig-base", import.meta.url));
  const seconds = flag(args, "seconds", 4);
  const rounds = flag(args, "rounds", 3);
  const loadA = { concurrency: flag(args, "concurrency", 4), maxTokens: flag(args, "tokens", 64) };
  const loadB = { concurrency: flag(args, "load", 32), maxTokens: flag(args, "tokens", 64) };
  const cpus = allowedCpus();
  if (cpus.length < 2) throw new Error(`the isolation bench needs 2 cores (this process may use ${cpus.length})`);
  const node = localNode({});
  if (!node.pinning.enabled) throw new Error(`pinning is not available here: ${node.pinning.reason}`);
  const [c0, c1] = [cpus[0]!, cpus[1]!];
  const unit = (index: number, cores: number[], pin: boolean): UnitSpec => ({ index, nodeId: "local", cores, memoryBytes: 2 * GiB, pin });
  const setups: Setup[] = [
    { name: "pinned", a: unit(0, [c0], true), b: unit(0, [c1], true), aDriver: [c0], bDriver: [c1] },
    { name: "unpinned", a: unit(0, cpus, false), b: unit(0, cpus, false), aDriver: null, bDriver: null },
  ];
  const log = (s: string) => (json ? process.stderr : process.stdout).write(`${s}\n`);
  const avg = () =>
    loadavg()
      .map((x) => x.toFixed(2))
      .join(" ");
  log(
    `isolation bench: ${modelDir}; A: ${loadA.concurrency} requests in flight, B: ${loadB.concurrency}; ${loadA.maxTokens} tokens each; ${seconds} s × ${rounds} rounds; load average ${avg()}`,
  );
  const out: Record<string, number | string> = { model: modelDir, cores: `${c0},${c1}`, seconds, rounds, load_average_at_start: avg() };
  const parentCpu0 = process.cpuUsage();
  for (const s of setups) {
    let a: Tenant | null = null;
    let b: Tenant | null = null;
    try {
      const sa = await Tenant.start("A", modelDir, s.a, s.aDriver);
      a = sa.t;
      const sb = await Tenant.start("B", modelDir, s.b, s.bDriver);
      b = sb.t;
      for (const [who, st] of [
        ["A", sa.started],
        ["B", sb.started],
      ] as const)
        log(`  ${s.name} ${who}: driver ${where(st.driver)}; unit worker ${st.workers.map(where).join(", ")}`);
      if (s.name === "pinned") {
        // a pinned ratio from processes that are not pinned would be a false claim: check every thread
        const check = (who: string, st: typeof sa.started, core: number) => {
          const all = [st.driver, ...st.workers];
          if (st.workers.length !== 1 || all.some((x) => x.cpus.length !== 1 || x.cpus[0] !== String(core)))
            throw new Error(`${who} is not pinned to CPU ${core}: ${all.map(where).join("; ")}`);
          return cpuList([...new Set(all.flatMap((x) => x.cpus.map(Number)))]);
        };
        out.pinned_a_cpus = check("A", sa.started, c0);
        out.pinned_b_cpus = check("B", sb.started, c1);
      }
      const alone: number[] = [];
      const loaded: number[] = [];
      for (let r = 0; r < rounds; r++) {
        alone.push((await a.measure(loadA, seconds)).tokensPerSecond);
        await b.drive(loadB);
        await new Promise((res) => setTimeout(res, 500)); // B reaches its steady state first
        loaded.push((await a.measure(loadA, seconds)).tokensPerSecond);
        const bRes = await b.stop();
        log(
          `  ${s.name} round ${r + 1}: A alone ${alone.at(-1)!.toFixed(0)} tok/s, A with B saturated ${loaded.at(-1)!.toFixed(0)} tok/s (B ${bRes.tokensPerSecond.toFixed(0)} tok/s); load average ${avg()}`,
        );
      }
      const [al, lo] = [median(alone), median(loaded)];
      out[`${s.name}_alone_tokens_per_s`] = Math.round(al);
      out[`${s.name}_loaded_tokens_per_s`] = Math.round(lo);
      out[`${s.name}_loaded_over_alone`] = Number((lo / al).toFixed(3));
    } finally {
      await a?.close();
      await b?.close();
    }
  }
  // the parent only sends a few commands per round: its CPU time shows it took nothing from either unit
  const parentCpu = process.cpuUsage(parentCpu0);
  out.bench_parent_cpu_s = Number(((parentCpu.user + parentCpu.system) / 1e6).toFixed(2));
  log("");
  log("| set-up | A alone tok/s | A with B saturated tok/s | loaded / alone |");
  log("| --- | --- | --- | --- |");
  for (const s of setups)
    log(
      `| ${s.name} (${s.name === "pinned" ? `A and its client on core ${c0}, B and its client on core ${c1}, 1 compute thread each` : `no affinity, ${cpus.length} compute threads each`}) | ${out[`${s.name}_alone_tokens_per_s`]} | ${out[`${s.name}_loaded_tokens_per_s`]} | ${out[`${s.name}_loaded_over_alone`]} |`,
    );
  out.load_average_1m = Number(loadavg()[0]!.toFixed(2));
  if (json) process.stdout.write(`${JSON.stringify(out)}\n`);
}
