// Structured-output benchmark: tokens/s of one hosting engine on the bundled sprig-base model (byte-level
// BPE, 2,848 tokens) with N concurrent rows, free vs constrained (json_object, json_schema), greedy,
// plain temperature sampling (the sampler's fast path) and top-p (mask built every step). Free and
// constrained rows run in the same process with the same prompts; the ratio is constrained / free.
// Free rows have EOS banned so that every row runs to the same length. Wall-clock tokens/s on a shared
// machine is noisy, so the ratio compares this process's CPU time per token (rounds interleaved, best of).
// Flags: --json, --requests=N (16), --tokens=N (64), --rounds=N (3, best of), --threads=N.

import { loadModel } from "../src/models/index.ts";
import { HostingEngine } from "../src/serving/hosting/hosting-engine.ts";
import type { SamplingInput } from "../src/serving/sampling.ts";

const SCHEMA = {
  type: "object",
  properties: {
    title: { type: "string", maxLength: 40 },
    year: { type: "integer" },
    tags: { type: "array", items: { type: "string", maxLength: 12 }, maxItems: 4 },
    done: { type: "boolean" },
  },
  required: ["title", "year", "tags", "done"],
  additionalProperties: false,
};

function flag(args: string[], name: string, dflt: number): number {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  const v = a ? Number(a.slice(name.length + 3)) : dflt;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name}: expected a positive number, got ${a}`);
  return v;
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes("--json");
  const requests = flag(args, "requests", 16);
  const tokens = flag(args, "tokens", 64);
  const rounds = flag(args, "rounds", 3);
  const threads = args.some((a) => a.startsWith("--threads=")) ? flag(args, "threads", 1) : undefined;
  const model = await loadModel("models/sprig-base");
  const engine = await HostingEngine.create({ model, maxBatchSize: requests, threads });
  const prompts = await Promise.all(
    Array.from({ length: requests }, (_, i) => model.tokenizer!.encode(`Story ${i}: once upon a time`, { addSpecialTokens: true })),
  );
  const noEos = Object.fromEntries(model.config.eosTokenIds.map((id) => [String(id), -100]));
  const modes: Record<string, SamplingInput> = {
    greedy: { temperature: 0 },
    sampled: { temperature: 1 },
    "top-p 0.9": { temperature: 1, topP: 0.9 },
  };
  const formats: Record<string, SamplingInput["responseFormat"]> = {
    free: null,
    json_object: { type: "json_object" },
    json_schema: { type: "json_schema", schema: SCHEMA },
  };
  // warm up (JIT, ONNX Runtime's first runs, the constrained walks' caches) before anything is timed
  for (const responseFormat of Object.values(formats))
    await Promise.all(
      prompts.map((p, i) =>
        engine.submit({ promptIds: p, sampling: { temperature: 1, seed: 1000 + i, maxTokens: tokens, responseFormat } }),
      ),
    );
  const rows: { mode: string; format: string; tokPerS: number; cpuUsPerToken: number; tokens: number; ratio: number }[] = [];
  try {
    for (const [mode, base] of Object.entries(modes)) {
      // rounds interleave the formats, so drift in the machine's load hits each alike; best of the rounds
      const best = new Map<string, { tokPerS: number; cpu: number; tokens: number }>();
      for (let r = 0; r < rounds; r++) {
        for (const [format, responseFormat] of Object.entries(formats)) {
          const t0 = performance.now();
          const c0 = process.cpuUsage();
          // free rows may not end early (EOS banned), so free and constrained rows generate about as many tokens
          const gens = await Promise.all(
            prompts.map((p, i) =>
              engine.submit({
                promptIds: p,
                sampling: { ...base, seed: i, maxTokens: tokens, responseFormat, ...(responseFormat ? {} : { logitBias: noEos }) },
              }),
            ),
          );
          const c = process.cpuUsage(c0);
          const count = gens.reduce((s, g) => s + g.ids.length, 0);
          const tokPerS = count / ((performance.now() - t0) / 1000);
          const cpu = (c.user + c.system) / count;
          const prev = best.get(format);
          best.set(format, { tokPerS: Math.max(prev?.tokPerS ?? 0, tokPerS), cpu: Math.min(prev?.cpu ?? Infinity, cpu), tokens: count });
        }
      }
      const free = best.get("free")!;
      for (const [format, b] of best)
        rows.push({
          mode,
          format,
          tokPerS: Math.round(b.tokPerS),
          cpuUsPerToken: Math.round(b.cpu),
          tokens: b.tokens,
          ratio: Number((free.cpu / b.cpu).toFixed(2)),
        });
    }
  } finally {
    await engine.close();
  }
  console.log(`structured output, sprig-base, ${requests} concurrent rows, ≤ ${tokens} new tokens, best of ${rounds}`);
  console.log("×free = speed relative to free rows by CPU time per token (this process, ONNX Runtime threads included)");
  console.log("mode        format       tok/s  CPU µs/token  tokens  ×free");
  for (const r of rows)
    console.log(
      `${r.mode.padEnd(11)} ${r.format.padEnd(12)} ${String(r.tokPerS).padStart(6)} ${String(r.cpuUsPerToken).padStart(13)} ${String(r.tokens).padStart(7)}  ${r.ratio.toFixed(2)}`,
    );
  if (json)
    console.log(JSON.stringify({ bench: "structured", model: "sprig-base", requests, tokens, rounds, threads: threads ?? "all", rows }));
}
