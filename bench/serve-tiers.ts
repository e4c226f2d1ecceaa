// The adapter-tier part of the serve bench (issue 14, item 2), on the random SmolLM2-135M-shaped base:
// - cold activation: a request to an adapter that is on disk only (no row, not in host memory), alone on an
//   idle engine; `cold_activate_p99_ms` is the p99 over adapters of (its time to first token cold − the
//   same request's time to first token right after, hot): what reading the adapter back and taking a row
//   adds. T-Few and LoRA rank 16 (q_proj, v_proj) separately; the key is the larger of the two.
// - Zipf: 2000 T-Few endpoints over 256 table rows (default host tier, the rest on disk), requests drawn
//   Zipf(1) over the endpoints (popularity in a random order), against the same requests on an engine
//   whose 2000 rows hold them all: `zipf_2000_over_256_tok_s` and its ratio to all-hot.

import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createLora, loraConfig } from "../src/adapters/lora.ts";
import { saveAdapter } from "../src/adapters/peft-io.ts";
import { Rng } from "../src/engine/index.ts";
import type { LoadedModel } from "../src/models/index.ts";
import { HostingEngine } from "../src/serving/hosting/hosting-engine.ts";

const COLD = 40;
const ENDPOINTS = 2000;
const SLOTS = 256;

interface Opts {
  requests: number;
  tokens: number;
  prompt: number;
  vocab: number;
  threads?: number;
}

type LoadFn = (
  engine: HostingEngine,
  name: string,
  adapters: Array<string | null>,
  o: Opts,
) => Promise<{ name: string; tokPerS: number; wallS: number; ttft: { p50: number; p99: number }; rssMb: number }>;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
};

/** Random rank-16 LoRA adapters on q_proj and v_proj in PEFT layout, written once into .sprig-cache. */
async function ensureLoras(model: LoadedModel, fingerprint: string, n: number): Promise<string[]> {
  const root = fileURLToPath(new URL(`../.sprig-cache/serve-loras/${fingerprint.slice(3, 15)}/`, import.meta.url));
  const dirs = Array.from({ length: n }, (_, i) => join(root, `l${i}`));
  if (existsSync(join(root, `complete-${n}`))) return dirs;
  await mkdir(root, { recursive: true });
  const rng = new Rng(13);
  for (const [i, dir] of dirs.entries()) {
    const a = createLora(model.config, loraConfig(model.config, { r: 16, alpha: 32, dropout: 0 }), 500 + i);
    for (const [k, t] of a.tensors)
      if (k.endsWith("lora_B.weight")) for (let j = 0; j < t.data.length; j++) t.data[j] = 0.02 * (rng.next() * 2 - 1);
    await saveAdapter(dir, a, { baseFingerprint: fingerprint });
  }
  await writeFile(join(root, `complete-${n}`), "");
  return dirs;
}

/** Per adapter: TTFT cold (from disk) − TTFT hot, one 1-token request alone on an idle engine each. */
async function coldExtra(engine: HostingEngine, names: string[], o: Opts): Promise<{ extra: number[]; coldMs: number[]; hotMs: number[] }> {
  const rng = new Rng(5);
  const promptIds = Array.from({ length: o.prompt }, () => 1 + rng.int(o.vocab - 1));
  const ttft = async (adapter: string) =>
    (await engine.submit({ adapter, promptIds, sampling: { temperature: 0, maxTokens: 1, stopTokens: [] } })).timings.firstTokenMs!;
  const coldMs: number[] = [];
  const hotMs: number[] = [];
  for (const n of names) {
    const tier = engine.stats().models.find((m) => m.name === n)!.tier;
    if (tier !== "disk") throw new Error(`cold bench: ${n} is ${tier}, not on disk`);
    coldMs.push(await ttft(n));
    hotMs.push(await ttft(n));
  }
  return { extra: coldMs.map((c, i) => c - hotMs[i]!), coldMs, hotMs };
}

/** Zipf(1) over n items, in a random order of popularity: `count` draws. */
function zipf(n: number, count: number, seed: number): number[] {
  const rng = new Rng(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const cdf: number[] = [];
  let sum = 0;
  for (let k = 1; k <= n; k++) cdf.push((sum += 1 / k));
  return Array.from({ length: count }, () => {
    const u = rng.next() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return order[lo]!;
  });
}

export async function tiersBench(
  model: LoadedModel,
  o: Opts,
  rounds: number,
  log: (s: string) => void,
  load: LoadFn,
  ensureIa3: (engine: HostingEngine, n: number) => Promise<string[]>,
): Promise<Record<string, number>> {
  // cold activation: one row per kind and no host tier, so every adapter but the last one used is on disk
  const cold = await HostingEngine.create({
    model,
    maxBatchSize: 4,
    maxAdapters: 1,
    lora: { maxAdapters: 1, rank: 16 },
    adapterHostBytes: 0,
    threads: o.threads,
  });
  let ia3: Awaited<ReturnType<typeof coldExtra>>;
  let lora: Awaited<ReturnType<typeof coldExtra>>;
  let ia3Dirs: string[];
  try {
    ia3Dirs = await ensureIa3(cold, ENDPOINTS);
    const loraDirs = await ensureLoras(model, cold.fingerprint, COLD + 1);
    // the first of each kind takes the row; the others go to disk
    for (let i = 0; i <= COLD; i++) await cold.activate(`t${i}`, ia3Dirs[i]!);
    for (let i = 0; i <= COLD; i++) await cold.activate(`l${i}`, loraDirs[i]!);
    await cold.submit({ adapter: "t0", promptIds: [1, 2, 3], sampling: { maxTokens: 2 } }); // warm-up
    await cold.submit({ adapter: "l0", promptIds: [1, 2, 3], sampling: { maxTokens: 2 } });
    const names = (p: string) => Array.from({ length: COLD }, (_, i) => `${p}${i + 1}`);
    ia3 = await coldExtra(cold, names("t"), o);
    lora = await coldExtra(cold, names("l"), o);
  } finally {
    await cold.close();
  }
  const show = (what: string, r: typeof ia3) =>
    log(
      `  cold activation, ${what} (${COLD} adapters, each on disk, one 1-token request alone): TTFT cold p50/p99 ${pct(r.coldMs, 50).toFixed(1)}/${pct(r.coldMs, 99).toFixed(1)} ms, hot ${pct(r.hotMs, 50).toFixed(1)}/${pct(r.hotMs, 99).toFixed(1)} ms; cold − hot p50/p99 ${pct(r.extra, 50).toFixed(1)}/${pct(r.extra, 99).toFixed(1)} ms`,
    );
  show("T-Few", ia3);
  show("LoRA r16", lora);

  // Zipf over 2000 endpoints: tiered (256 rows) against all hot (2000 rows), fresh engines, rounds interleaved
  const draws = zipf(ENDPOINTS, o.requests, 9).map((i) => `z${i}`);
  const engineFor = (rows: number) =>
    HostingEngine.create({
      model,
      maxBatchSize: Math.min(64, o.requests),
      maxAdapters: rows,
      lora: { maxAdapters: 0 },
      kvCacheBytes: 2 ** 32,
      maxQueue: o.requests * 2,
      threads: o.threads,
    });
  let tiered = 0;
  let hot = 0;
  let tierStats = "";
  for (let round = 0; round < rounds; round++) {
    for (const rows of [SLOTS, ENDPOINTS]) {
      const e = await engineFor(rows);
      try {
        for (let i = 0; i < ENDPOINTS; i++) await e.activate(`z${i}`, ia3Dirs[i]!);
        await load(e, "warm-up", [null], { ...o, requests: 4, tokens: 2 });
        const r = await load(e, rows === SLOTS ? `Zipf, ${ENDPOINTS} over ${SLOTS} rows` : `Zipf, ${ENDPOINTS} all hot`, draws, o);
        const t = e.stats().tiers;
        log(
          `  ${r.name.padEnd(34)} ${r.tokPerS.toFixed(1).padStart(7)} tok/s  TTFT p50/p99 ${r.ttft.p50.toFixed(0)}/${r.ttft.p99.toFixed(0)} ms  wall ${r.wallS.toFixed(1)} s  RSS ${r.rssMb.toFixed(0)} MB  tiers hot/host/disk ${t.hot}/${t.host}/${t.disk}, loads ${t.loads}, row evictions ${t.evictions.hot}`,
        );
        if (rows === SLOTS) {
          tiered = Math.max(tiered, r.tokPerS);
          tierStats = `${new Set(draws).size} distinct endpoints in ${o.requests} requests; host tier ${(t.hostBytes / 2 ** 20).toFixed(0)} of ${(t.hostBudgetBytes / 2 ** 20).toFixed(0)} MiB`;
        } else hot = Math.max(hot, r.tokPerS);
      } finally {
        await e.close();
      }
    }
  }
  const out = {
    cold_activate_p99_ms: +Math.max(pct(ia3.extra, 99), pct(lora.extra, 99)).toFixed(1),
    cold_activate_ia3_p99_ms: +pct(ia3.extra, 99).toFixed(1),
    cold_activate_lora16_p99_ms: +pct(lora.extra, 99).toFixed(1),
    zipf_2000_over_256_tok_s: +tiered.toFixed(1),
    zipf_2000_over_256_over_all_hot: +(tiered / hot).toFixed(3),
  };
  log(
    `  best of ${rounds} rounds: Zipf ${ENDPOINTS} over ${SLOTS} rows ${tiered.toFixed(1)} tok/s, all hot ${hot.toFixed(1)} tok/s: ${out.zipf_2000_over_256_over_all_hot} (${tierStats})`,
  );
  return out;
}
