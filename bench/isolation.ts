// Isolation benchmark: does one tenant's load slow another's? Endpoint A (one hosting unit) serves a fixed
// closed-loop load alone, then while cluster B on the same machine is saturated, in two set-ups in one run:
//   pinned   — each unit pinned to a core of its own (taskset) with a 1-thread ONNX Runtime pool: Sprig's units;
//   unpinned — no affinity, each unit's pool sized to every core: how units ran before reservations.
// Prints A's tokens/s and the loaded/alone ratios (median of --rounds). With --json the last line is one
// object with pinned_loaded_over_alone and unpinned_loaded_over_alone.
// Flags: --json, --model=DIR (models/sprig-base), --seconds=S (4 per measurement), --rounds=N (3),
// --concurrency=N (A's requests in flight, 4), --load=N (B's, 32), --tokens=N (64 per request).

import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import type { HostingPool, UnitSpec } from "../src/control/executors.ts";
import { allowedCpus, localNode } from "../src/control/nodes.ts";
import { drive, loadPool, loadPrompt, measure } from "../src/control/workers/unit-throughput.ts";

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

interface Setup {
  name: "pinned" | "unpinned";
  a: UnitSpec;
  b: UnitSpec;
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
    { name: "pinned", a: unit(0, [c0], true), b: unit(0, [c1], true) },
    { name: "unpinned", a: unit(0, cpus, false), b: unit(0, cpus, false) },
  ];
  const prompt = loadPrompt(modelDir);
  const log = (s: string) => (json ? process.stderr : process.stdout).write(`${s}\n`);
  log(
    `isolation bench: ${modelDir}; A: ${loadA.concurrency} requests in flight, B: ${loadB.concurrency}; ${loadA.maxTokens} tokens each; ${seconds} s × ${rounds} rounds; load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
  );
  const out: Record<string, number | string> = { model: modelDir, cores: `${c0},${c1}`, seconds, rounds };
  for (const s of setups) {
    let a: HostingPool | null = null;
    let b: HostingPool | null = null;
    try {
      a = await loadPool(modelDir, [s.a], "A");
      b = await loadPool(modelDir, [s.b], "B");
      const alone: number[] = [];
      const loaded: number[] = [];
      for (let r = 0; r < rounds; r++) {
        alone.push((await measure(a, prompt, loadA, seconds)).tokensPerSecond);
        const sat = drive(b, prompt, loadB);
        await new Promise((res) => setTimeout(res, 500)); // B reaches its steady state first
        loaded.push((await measure(a, prompt, loadA, seconds)).tokensPerSecond);
        const bRes = await sat.stop();
        log(
          `  ${s.name} round ${r + 1}: A alone ${alone.at(-1)!.toFixed(0)} tok/s, A with B saturated ${loaded.at(-1)!.toFixed(0)} tok/s (B ${bRes.tokensPerSecond.toFixed(0)} tok/s)`,
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
  log("");
  log("| set-up | A alone tok/s | A with B saturated tok/s | loaded / alone |");
  log("| --- | --- | --- | --- |");
  for (const s of setups)
    log(
      `| ${s.name} (${s.name === "pinned" ? `A on core ${c0}, B on core ${c1}, 1 thread each` : `no affinity, ${cpus.length} threads each`}) | ${out[`${s.name}_alone_tokens_per_s`]} | ${out[`${s.name}_loaded_tokens_per_s`]} | ${out[`${s.name}_loaded_over_alone`]} |`,
    );
  out.load_average_1m = Number(loadavg()[0]!.toFixed(2));
  if (json) process.stdout.write(`${JSON.stringify(out)}\n`);
}
