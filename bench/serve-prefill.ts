// The serve bench's prefill scenarios on the random SmolLM2-135M-shaped base: (1) TTFT of a request whose
// 1k-token prefix is in the prefix cache against fresh prefixes (`prefix_cache_ttft_speedup`); (2) TPOT of
// running streams while 2k-token prompts arrive, chunked prefill against unchunked in the same run
// (`tpot_p99_over_p50_long_prompts`). The random base's config says 2048 positions, so scenario 2 gives
// it a 4096-position context: RoPE is computed per position, no weight depends on the context length.

import { Rng } from "../src/engine/index.ts";
import type { LoadedModel } from "../src/models/index.ts";
import { loadavg } from "node:os";
import { HostingOptionsSchema } from "../src/serving/hosting/engine-options.ts";
import { HostingEngine } from "../src/serving/hosting/hosting-engine.ts";

const PREFIX = 1024;
const SUFFIX = 16;
const LONG = 2048;
/** running streams that decode while the long prompts arrive */
const STREAMS = 4;
/** long prompts, each arriving PAUSE_MS after the previous one's first token */
const LONGS = 3;
const PAUSE_MS = 400;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
};
const median = (xs: number[]) => pct(xs, 50);

function ids(rng: Rng, n: number, vocab: number): number[] {
  return Array.from({ length: n }, () => 1 + rng.int(vocab - 1));
}

export interface PrefixTtft {
  coldMs: number;
  warmMs: number;
  speedup: number;
}

/** Median TTFT of 3 requests on fresh 1k-token prefixes against 3 on one cached prefix (idle engine, 1 new token). */
export async function prefixCacheTtft(model: LoadedModel, threads: number | undefined): Promise<PrefixTtft> {
  const engine = await HostingEngine.create({ model, maxBatchSize: 4, lora: { maxAdapters: 0 }, threads, kvCacheBytes: 2 ** 31 });
  try {
    const V = model.config.vocabSize;
    const rng = new Rng(5);
    const ttft = async (prompt: number[]) => {
      const g = await engine.submit({ promptIds: prompt, sampling: { temperature: 0, maxTokens: 1 } });
      return g.timings.firstTokenMs ?? g.timings.totalMs;
    };
    await ttft(ids(rng, 32, V)); // warm-up: the session's first runs
    const shared = ids(rng, PREFIX, V);
    const cold: number[] = [];
    const warm: number[] = [];
    // interleaved, so that load from other processes hits both alike; the first cold run fills the cache
    for (let i = 0; i < 3; i++) {
      cold.push(await ttft([...(i === 0 ? shared : ids(rng, PREFIX, V)), ...ids(rng, SUFFIX, V)]));
      warm.push(await ttft([...shared, ...ids(rng, SUFFIX, V)]));
    }
    const hit = engine.stats().prefixCache!.hitTokens;
    if (hit !== 3 * PREFIX) throw new Error(`prefix-cache bench: expected ${3 * PREFIX} cached tokens, got ${hit}`);
    return { coldMs: median(cold), warmMs: median(warm), speedup: +(median(cold) / median(warm)).toFixed(2) };
  } finally {
    await engine.close();
  }
}

export interface LongPromptTpot {
  chunkTokens: number;
  tpotP50: number;
  tpotP99: number;
  ratio: number;
  /** median TTFT of the long prompts */
  longTtftMs: number;
}

/**
 * STREAMS greedy streams decode; LONGS 2048-token prompts arrive one after another (each PAUSE_MS after the
 * previous one's first token). TPOT = the gaps between consecutive tokens of the streams from the first
 * long prompt's arrival to the last one's first token.
 */
export async function longPromptTpot(model: LoadedModel, threads: number | undefined, chunkTokens: number): Promise<LongPromptTpot> {
  const long: LoadedModel = { ...model, config: { ...model.config, maxPositions: 2 * LONG } };
  const engine = await HostingEngine.create({
    model: long,
    maxBatchSize: 8,
    lora: { maxAdapters: 0 },
    threads,
    kvCacheBytes: 2 ** 31,
    prefillChunkTokens: chunkTokens,
    maxPrefillTokens: 2 * LONG,
    prefixCache: { bytes: 0 },
  });
  try {
    const V = model.config.vocabSize;
    const rng = new Rng(9);
    let window: { from: number; to: number } | null = null;
    const gaps: number[] = [];
    const stop = new AbortController();
    const streams = Array.from({ length: STREAMS }, () => {
      let last = -1;
      return engine
        .submit({
          promptIds: ids(rng, 16, V),
          sampling: { temperature: 0, maxTokens: 1500, stopTokens: [] },
          signal: stop.signal,
          onToken: () => {
            const now = performance.now();
            if (window && last >= window.from && now <= window.to) gaps.push(now - last);
            last = now;
          },
        })
        .catch(() => null);
    });
    // let the streams reach their decode steps first
    await new Promise((r) => setTimeout(r, 1500));
    window = { from: performance.now(), to: Infinity };
    const ttfts: number[] = [];
    for (let i = 0; i < LONGS; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, PAUSE_MS));
      const g = await engine.submit({ promptIds: ids(rng, LONG, V), sampling: { temperature: 0, maxTokens: 1 } });
      ttfts.push(g.timings.firstTokenMs ?? g.timings.totalMs);
    }
    window.to = performance.now();
    stop.abort();
    await Promise.all(streams);
    if (gaps.length < 10)
      throw new Error(
        `long-prompt bench: only ${gaps.length} TPOT samples in ${(window.to - window.from).toFixed(0)} ms (long TTFTs ${ttfts.map((t) => t.toFixed(0)).join(", ")} ms; streams: ${(await Promise.all(streams)).map((g) => g?.ids.length ?? "cancelled").join(", ")})`,
      );
    const p50 = pct(gaps, 50);
    const p99 = pct(gaps, 99);
    return { chunkTokens, tpotP50: p50, tpotP99: p99, ratio: +(p99 / p50).toFixed(2), longTtftMs: median(ttfts) };
  } finally {
    await engine.close();
  }
}

/** Both scenarios, logged; → the JSON keys. --chunk=N: prefillChunkTokens of the chunked run (the engine's default). */
export async function prefillScenarios(
  model: LoadedModel,
  threads: number | undefined,
  args: string[],
  log: (s: string) => void,
): Promise<Record<string, number>> {
  const a = args.find((x) => x.startsWith("--chunk="));
  const chunk = a ? Number(a.slice(8)) : HostingOptionsSchema.parse({}).prefillChunkTokens;
  if (!Number.isInteger(chunk) || chunk < 1) throw new Error(`--chunk: expected a positive integer, got ${a}`);
  const load = () => loadavg()[0]!.toFixed(1);
  log(`  prefill scenarios (load average ${load()} before):`);
  const p = await prefixCacheTtft(model, threads);
  log(
    `  TTFT with a ${PREFIX}-token shared prefix + ${SUFFIX} tokens, idle engine: fresh prefix ${p.coldMs.toFixed(0)} ms, cached ${p.warmMs.toFixed(0)} ms: ${p.speedup}× (goal ≥ 5)`,
  );
  const runs = [await longPromptTpot(model, threads, chunk), await longPromptTpot(model, threads, 2 * LONG)];
  for (const r of runs)
    log(
      `  ${STREAMS} streams while ${LONGS} ${LONG}-token prompts arrive, ${r.chunkTokens >= LONG ? "unchunked" : `chunks of ${r.chunkTokens}`}: TPOT p50/p99 ${r.tpotP50.toFixed(0)}/${r.tpotP99.toFixed(0)} ms = ${r.ratio} (goal ≤ 2); long prompt TTFT ${r.longTtftMs.toFixed(0)} ms`,
    );
  log(`  (load average ${load()} after)`);
  return {
    prefix_cache_ttft_speedup: p.speedup,
    tpot_p99_over_p50_long_prompts: runs[0]!.ratio,
    tpot_p99_over_p50_long_prompts_unchunked: runs[1]!.ratio,
  };
}
