// `sprig cluster size`: how many units a target load needs. Starts one unit of each shape (or the one
// asked for) on this machine's cores, pinned, serving the model's base weights; saturates it with
// concurrent requests; prints its tokens/s and the units the target needs with headroom.

import type { Command } from "commander";
import { resolve } from "node:path";
import { UNIT_SHAPES, type UnitShape, localNode, shape } from "../../control/index.ts";
import { loadPool, loadPrompt, measure, unitsFor } from "../../control/index.ts";
import { CliError } from "../errors.ts";
import { parseNumber } from "../parse.ts";

interface SizeFlags {
  model: string;
  tokensPerSecond: string;
  unitShape?: string;
  concurrency: string;
  maxTokens: string;
  seconds: string;
  headroom: string;
  json?: boolean;
}

export function registerClusterSize(cluster: Command): void {
  cluster
    .command("size")
    .description("measure one unit's throughput for a model on this machine and say how many units a target load needs")
    .requiredOption("--model <dir>", "the base model (Hugging Face directory)")
    .requiredOption("--tokens-per-second <n>", "the load to plan for: generated tokens per second across all requests")
    .option("--unit-shape <shape>", "measure only this shape (default: every shape that fits this machine)")
    .option("--concurrency <n>", "requests in flight while measuring", "16")
    .option("--max-tokens <n>", "new tokens per request", "64")
    .option("--seconds <s>", "measuring time per shape", "10")
    .option("--headroom <f>", "spare capacity to keep (0.2 = 20%)", "0.2")
    .option("--json", "print one JSON object per shape")
    .action(async (f: SizeFlags) => {
      const target = parseNumber(f.tokensPerSecond, "--tokens-per-second", { min: 0.001 });
      const load = {
        concurrency: parseNumber(f.concurrency, "--concurrency", { int: true, min: 1, max: 1024 }),
        maxTokens: parseNumber(f.maxTokens, "--max-tokens", { int: true, min: 1 }),
      };
      const seconds = parseNumber(f.seconds, "--seconds", { min: 1 });
      const headroom = parseNumber(f.headroom, "--headroom", { min: 0, max: 10 });
      const node = localNode({});
      let shapes: UnitShape[];
      try {
        shapes = f.unitShape ? [shape(f.unitShape)] : UNIT_SHAPES.filter((s) => s.cores <= node.cores.length);
      } catch (e) {
        throw new CliError(`--unit-shape: ${(e as Error).message}`);
      }
      const fits = shapes.filter((s) => s.cores <= node.cores.length);
      if (!fits.length)
        throw new CliError(`--unit-shape: ${f.unitShape} needs ${shapes[0]!.cores} cores; this machine offers ${node.cores.length}`);
      const modelDir = resolve(f.model);
      const prompt = loadPrompt(modelDir);
      if (!node.pinning.enabled)
        process.stderr.write(`note: units cannot be pinned here (${node.pinning.reason}); figures include interference\n`);
      for (const s of fits) {
        // the last cores of the machine, as a unit of this shape would hold them
        const cores = node.cores.slice(-s.cores);
        const pool = await loadPool(modelDir, [
          { index: 0, nodeId: node.id, cores, memoryBytes: s.memoryBytes, pin: node.pinning.enabled },
        ]);
        try {
          const r = await measure(pool, prompt, load, seconds);
          const units = unitsFor(target, r.tokensPerSecond, headroom);
          const row = {
            unitShape: s.name,
            cores: s.cores,
            perUnitTokensPerSecond: Math.round(r.tokensPerSecond),
            requestsPerSecond: Number((r.requests / r.seconds).toFixed(2)),
            targetTokensPerSecond: target,
            headroom,
            unitsNeeded: units,
            coresNeeded: units * s.cores,
          };
          if (f.json) process.stdout.write(`${JSON.stringify(row)}\n`);
          else
            process.stdout.write(
              `${s.name}: one unit (${s.cores} core${s.cores > 1 ? "s" : ""}) served ${row.perUnitTokensPerSecond} tokens/s (${row.requestsPerSecond} requests/s at ${load.concurrency} in flight, ${load.maxTokens} tokens each); ` +
                `${target} tokens/s with ${Math.round(headroom * 100)}% headroom needs ${units} unit${units > 1 ? "s" : ""} (${row.coresNeeded} cores)\n`,
            );
        } finally {
          await pool.close();
        }
      }
    });
}
