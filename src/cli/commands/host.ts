// `sprig host`: load a base model once, activate adapters (or full custom models) beside it, and serve
// them all from one continuous batch over a minimal HTTP interface (see src/serving/hosting/README.md).

import type { Command } from "commander";
import { WEIGHT_FORMATS, type WeightFormat } from "../../models/index.ts";
import { HostingEngine } from "../../serving/index.ts";
import { defaultModelDir } from "../default-model.ts";
import { CliError } from "../errors.ts";
import { parseNumber } from "../parse.ts";
import { createHostServer } from "./host-http.ts";

interface HostFlags {
  model?: string;
  adapter?: string[];
  port: string;
  host: string;
  maxBatchSize: string;
  maxAdapters: string;
  maxLoraAdapters: string;
  loraRank: string;
  loraTargets?: string;
  maxFullModels: string;
  kvCacheMb: string;
  adapterHostMb: string;
  maxQueue: string;
  weights?: string;
  threads?: string;
}

/** A --weights / --hosting-weights value, checked (CliError naming the flag). */
export function weightFormatFlag(v: string, flag: string): WeightFormat {
  if ((WEIGHT_FORMATS as readonly string[]).includes(v)) return v as WeightFormat;
  throw new CliError(`${flag}: '${v}' is not a weight format: use ${WEIGHT_FORMATS.join(", ")}`);
}

export const WEIGHTS_HELP =
  "how the base projections are stored: f32 as loaded, int8 (weight-only, blocks of 16: faster batch-1 decode, see `npm run bench -- generate`; greedy outputs of the bundled demo T-Few models unchanged) or int4 (faster still, but greedy outputs drift); norms, embeddings, the LM head and adapters stay float32";

export function registerHost(program: Command): void {
  program
    .command("host")
    .description("serve a base model and many custom models (T-Few, LoRA, full) from one continuous batch over HTTP")
    .option("--model <dir>", "base model directory")
    .option("--adapter <name=dir...>", "activate an adapter (or full model) directory under a name; repeatable")
    .option("--port <p>", "HTTP port (0 = any free port)", "8080")
    .option("--host <addr>", "address to listen on", "127.0.0.1")
    .option("--max-batch-size <n>", "rows in the running batch", "32")
    .option("--max-adapters <n>", "T-Few adapters active at once", "256")
    .option("--max-lora-adapters <n>", "LoRA adapters active at once (0 = no LoRA path)", "256")
    .option(
      "--lora-rank <r>",
      "largest LoRA rank served (rank buckets 8, 16, 32, … up to it; lower ranks are zero-padded to their bucket)",
      "64",
    )
    .option("--lora-targets <modules>", "comma-separated LoRA target modules (default: q_proj,v_proj; GPT-2 c_attn)")
    .option("--max-full-models <n>", "full custom models hosted beside the base", "2")
    .option("--kv-cache-mb <mb>", "KV-cache memory across all sessions", "1024")
    .option(
      "--adapter-host-mb <mb>",
      "host-memory tier: MiB of active adapters kept decoded without a table row; beyond it the least recently used drop to disk and are re-read from their directory when next requested (0 = straight to disk)",
      "256",
    )
    .option("--max-queue <n>", "waiting requests before 503 queue_full", "256")
    .option("--weights <format>", WEIGHTS_HELP, "f32")
    .option("--threads <n>", "compute threads (default: all cores)")
    .action(async (f: HostFlags) => {
      const int = (v: string, flag: string, min = 0) => parseNumber(v, flag, { int: true, min });
      const adapters = (f.adapter ?? []).map((spec) => {
        const i = spec.indexOf("=");
        if (i <= 0 || i === spec.length - 1) throw new CliError(`--adapter: '${spec}' is not NAME=DIR`);
        return { name: spec.slice(0, i), dir: spec.slice(i + 1) };
      });
      const engine = await HostingEngine.create(hostEngineOptions(f));
      for (const a of adapters) {
        const r = await engine.activate(a.name, a.dir);
        process.stderr.write(`sprig host: activated ${a.name} (${r.kind}, ${r.bytes} bytes, ${r.ms.toFixed(1)} ms)\n`);
      }
      const server = await createHostServer(engine);
      const port = int(f.port, "--port");
      const where = await server.listen({ port, host: f.host });
      process.stdout.write(`sprig host: serving on ${where} (base ${engine.stats().base.bytes} bytes; ${adapters.length} adapters)\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop).once("SIGTERM", stop);
      });
      process.stderr.write("sprig host: shutting down\n");
      server.server.closeAllConnections();
      await server.close();
      await engine.close();
    });
}

/** The engine options of `sprig host`'s flags, each checked (CliError naming the flag). */
export function hostEngineOptions(f: Omit<HostFlags, "adapter" | "port" | "host">): Parameters<typeof HostingEngine.create>[0] {
  const int = (v: string, flag: string, min = 0) => parseNumber(v, flag, { int: true, min });
  const mib = (v: string, flag: string, min: number) => Math.round(parseNumber(v, flag, { min }) * 2 ** 20);
  return {
    modelDir: f.model ?? defaultModelDir(),
    maxBatchSize: int(f.maxBatchSize, "--max-batch-size", 1),
    maxAdapters: int(f.maxAdapters, "--max-adapters"),
    lora: {
      maxAdapters: int(f.maxLoraAdapters, "--max-lora-adapters"),
      rank: int(f.loraRank, "--lora-rank", 1),
      targetModules: f.loraTargets
        ?.split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    },
    maxFullModels: int(f.maxFullModels, "--max-full-models"),
    kvCacheBytes: mib(f.kvCacheMb, "--kv-cache-mb", 1),
    adapterHostBytes: mib(f.adapterHostMb, "--adapter-host-mb", 0),
    maxQueue: int(f.maxQueue, "--max-queue"),
    weights: weightFormatFlag(f.weights ?? "f32", "--weights"),
    threads: f.threads === undefined ? undefined : int(f.threads, "--threads", 1),
  };
}
