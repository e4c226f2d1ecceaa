// The serve bench's prefill scenarios on the random SmolLM2-135M-shaped base: (1) TTFT of a request whose
// 1k-token prefix is in the prefix cache against the same-length request on a fresh prefix
// (`prefix_cache_ttft_speedup`); (2) TPOT of running streams while 2k-token prompts arrive, chunked prefill
// against unchunked in the same run (`tpot_p99_over_p50_long_prompts`: the tail against the median of the same
// window, i.e. no stalls; `tpot_p99_over_p50_alone_long_prompts`: the tail against the streams decoding alone,
// i.e. how much slower a stream gets while long prompts are prefilled). The random base's config says 2048
// positions, so scenario 2 gives it a 4096-position context: RoPE is computed per position, no weight
// depends on the context length. `--small` shrinks both (256-token prefix, 512-token long prompts) for smoke runs.

import { Rng } from "../src/engine/index.ts";
import type { LoadedModel } from "../src/models/index.ts";
import { loadavg } from "node:os";
import { HostingOptionsSchema } from "../src/serving/hosting/engine-options.ts";
import { HostingEngine } from "../src/serving/hosting/hosting-engine.ts";

/** the scenario sizes: full (the issue's figures) or small (smoke runs) */
interface Sizes {
  /** shared prefix and the suffix after it (scenario 1) */
  prefix: number;
  suffix: number;
  /** pairs of (fresh, cached) requests, interleaved */
  pairs: number;
  /** long prompts' length (scenario 2) */
  long: number;
  /** long prompts, each arriving PAUSE_MS after the previous one's first token */
  longs: number;
  /** how long the streams decode alone first: the TPOT p50 baseline */
  baselineMs: number;
}
const FULL: Sizes = { prefix: 1024, suffix: 16, pairs: 5, long: 2048, longs: 3, baselineMs: 3000 };
const SMALL: Sizes = { prefix: 256, suffix: 16, pairs: 3, long: 512, longs: 2, baselineMs: 1500 };
/** running streams that decode while the long prompts arrive */
const STREAMS = 4;
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

/**
 * Median TTFT (1 new token, idle engine) of `pairs` requests of prefix + suffix tokens on fresh prefixes
 * (a cache miss: full prefill, then its blocks are stored) against as many on one cached prefix (the suffix
 * alone is prefilled, over the restored blocks). Same lengths, interleaved; the warm-up runs a prompt of
 * the same length first, so neither side pays the session's first run at that shape.
 */
export async function prefixCacheTtft(model: LoadedModel, threads: number | undefined, z: Sizes): Promise<PrefixTtft> {
  const engine = await HostingEngine.create({ model, maxBatchSize: 4, lora: { maxAdapters: 0 }, threads, kvCacheBytes: 2 ** 31 });
  try {
    const V = model.config.vocabSize;
    const rng = new Rng(5);
    const ttft = async (prompt: number[]) => {
      const g = await engine.submit({ promptIds: prompt, sampling: { temperature: 0, maxTokens: 1 } });
      return g.timings.firstTokenMs ?? g.timings.totalMs;
    };
    const shared = ids(rng, z.prefix, V);
    await ttft(ids(rng, z.prefix + z.suffix, V)); // warm-up at the full shape
    await ttft([...shared, ...ids(rng, z.suffix, V)]); // fills the cache with the shared prefix
    const before = engine.stats().prefixCache!.hitTokens;
    const cold: number[] = [];
    const warm: number[] = [];
    // interleaved, so that load from other processes hits both alike
    for (let i = 0; i < z.pairs; i++) {
      cold.push(await ttft([...ids(rng, z.prefix, V), ...ids(rng, z.suffix, V)]));
      warm.push(await ttft([...shared, ...ids(rng, z.suffix, V)]));
    }
    const hit = engine.stats().prefixCache!.hitTokens - before;
    // a fresh prefix must miss entirely and a cached one hit entirely, or the comparison is not the one claimed
    if (hit !== z.pairs * z.prefix) throw new Error(`prefix-cache bench: expected ${z.pairs * z.prefix} cached tokens, got ${hit}`);
    return { coldMs: median(cold), warmMs: median(warm), speedup: +(median(cold) / median(warm)).toFixed(2) };
  } finally {
    await engine.close();
  }
}

export interface LongPromptTpot {
  chunkTokens: number;
  /** TPOT of the streams decoding alone (the denominator) */
  baseP50: number;
  /** TPOT while long prompts are being prefilled */
  tpotP50: number;
  tpotP99: number;
  /** tpotP99 / tpotP50: the tail of the window against its median (stalls) */
  ratio: number;
  /** tpotP99 / baseP50: the tail of the window against decoding alone (slowdown plus stalls) */
  ratioAlone: number;
  samples: number;
  /** median TTFT of the long prompts */
  longTtftMs: number;
}

/**
 * STREAMS greedy streams decode; first alone for `baselineMs` (their TPOT p50 there is the denominator),
 * then `longs` long prompts arrive one after another (each PAUSE_MS after the previous one's first token).
 * TPOT = the gap between consecutive tokens of a stream; the window is from the first long prompt's arrival
 * to the last one's first token. Two ratios of its p99: over its own p50 (a stall is a gap far above the
 * typical one; the issue's goal), and over the p50 decoding alone (with chunked prefill nearly every gap in
 * the window holds a chunk, so this one also counts the uniform slowdown the chunks cost).
 */
export async function longPromptTpot(
  model: LoadedModel,
  threads: number | undefined,
  chunkTokens: number,
  z: Sizes,
): Promise<LongPromptTpot> {
  const long: LoadedModel = { ...model, config: { ...model.config, maxPositions: Math.max(model.config.maxPositions, 2 * z.long) } };
  const engine = await HostingEngine.create({
    model: long,
    maxBatchSize: 8,
    lora: { maxAdapters: 0 },
    threads,
    kvCacheBytes: 2 ** 31,
    prefillChunkTokens: chunkTokens,
    maxPrefillTokens: Math.max(chunkTokens, z.long),
    prefixCache: { bytes: 0 },
  });
  try {
    const V = model.config.vocabSize;
    const rng = new Rng(9);
    const phase: { at: "warm-up" | "baseline" | "window" | "after" } = { at: "warm-up" };
    const base: number[] = [];
    const gaps: number[] = [];
    const stop = new AbortController();
    // enough tokens to outlast the run (checked below); they are cancelled at its end
    const streams = Array.from({ length: STREAMS }, () => {
      let last = -1;
      let lastPhase = phase.at;
      return engine
        .submit({
          promptIds: ids(rng, 16, V),
          sampling: { temperature: 0, maxTokens: 1500, stopTokens: [] },
          signal: stop.signal,
          onToken: () => {
            const now = performance.now();
            // a gap counts in the phase it started and ended in
            if (last >= 0 && lastPhase === phase.at) (phase.at === "baseline" ? base : phase.at === "window" ? gaps : []).push(now - last);
            last = now;
            lastPhase = phase.at;
          },
        })
        .catch(() => null);
    });
    await new Promise((r) => setTimeout(r, 500)); // the streams' prefill and first decode steps
    phase.at = "baseline";
    await new Promise((r) => setTimeout(r, z.baselineMs));
    phase.at = "window";
    const t0 = performance.now();
    const ttfts: number[] = [];
    for (let i = 0; i < z.longs; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, PAUSE_MS));
      const g = await engine.submit({ promptIds: ids(rng, z.long, V), sampling: { temperature: 0, maxTokens: 1 } });
      ttfts.push(g.timings.firstTokenMs ?? g.timings.totalMs);
    }
    phase.at = "after";
    const windowMs = performance.now() - t0;
    stop.abort();
    const ended = await Promise.all(streams);
    if (ended.some((g) => g !== null)) throw new Error("long-prompt bench: a stream ended before the long prompts were done");
    if (base.length < 10 || gaps.length < 10)
      throw new Error(
        `long-prompt bench: only ${base.length} baseline and ${gaps.length} window TPOT samples (window ${windowMs.toFixed(0)} ms, long TTFTs ${ttfts.map((t) => t.toFixed(0)).join(", ")} ms)`,
      );
    const baseP50 = pct(base, 50);
    const p99 = pct(gaps, 99);
    return {
      chunkTokens,
      baseP50,
      tpotP50: pct(gaps, 50),
      tpotP99: p99,
      ratio: +(p99 / pct(gaps, 50)).toFixed(2),
      ratioAlone: +(p99 / baseP50).toFixed(2),
      samples: gaps.length,
      longTtftMs: median(ttfts),
    };
  } finally {
    await engine.close();
  }
}

/**
 * Both scenarios, logged; → the JSON keys. --chunk=N[,M…]: prefillChunkTokens of the chunked runs (the
 * first one gives the key; default the engine's); --small: the smoke sizes.
 */
export async function prefillScenarios(
  model: LoadedModel,
  threads: number | undefined,
  args: string[],
  log: (s: string) => void,
): Promise<Record<string, number>> {
  const z = args.includes("--small") ? SMALL : FULL;
  const a = args.find((x) => x.startsWith("--chunk="));
  const chunks = a ? a.slice(8).split(",").map(Number) : [HostingOptionsSchema.parse({}).prefillChunkTokens];
  if (!chunks.every((c) => Number.isInteger(c) && c >= 1)) throw new Error(`--chunk: expected positive integers, got ${a}`);
  const load = () => loadavg()[0]!.toFixed(1);
  log(`  prefill scenarios${z === SMALL ? " (--small)" : ""} (load average ${load()} before):`);
  const p = await prefixCacheTtft(model, threads, z);
  log(
    `  TTFT with a ${z.prefix}-token shared prefix + ${z.suffix} tokens, idle engine, median of ${z.pairs}: fresh prefix ${p.coldMs.toFixed(0)} ms, cached ${p.warmMs.toFixed(0)} ms: ${p.speedup}× (goal ≥ 5)`,
  );
  const unchunked = 2 * z.long;
  const runs: LongPromptTpot[] = [];
  for (const c of [...chunks, unchunked]) {
    const r = await longPromptTpot(model, threads, c, z);
    runs.push(r);
    log(
      `  ${STREAMS} streams while ${z.longs} ${z.long}-token prompts arrive, ${r.chunkTokens >= z.long ? "unchunked" : `chunks of ${r.chunkTokens}`}: TPOT alone p50 ${r.baseP50.toFixed(0)} ms; while prefilling p50/p99 ${r.tpotP50.toFixed(0)}/${r.tpotP99.toFixed(0)} ms (${r.samples} gaps): p99 / p50 ${r.ratio} (goal ≤ 2), p99 / p50 alone ${r.ratioAlone}; long prompt TTFT ${r.longTtftMs.toFixed(0)} ms`,
    );
  }
  log(`  (load average ${load()} after)`);
  return {
    prefix_cache_ttft_speedup: p.speedup,
    tpot_p99_over_p50_long_prompts: runs[0]!.ratio,
    tpot_p99_over_p50_long_prompts_unchunked: runs[runs.length - 1]!.ratio,
    tpot_p99_over_p50_alone_long_prompts: runs[0]!.ratioAlone,
    tpot_p99_over_p50_alone_long_prompts_unchunked: runs[runs.length - 1]!.ratioAlone,
    long_prompt_ttft_ms: Math.round(runs[0]!.longTtftMs),
    long_prompt_ttft_ms_unchunked: Math.round(runs[runs.length - 1]!.longTtftMs),
  };
}
