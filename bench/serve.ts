// Serving benchmark on the random SmolLM2-135M-shaped base: one hosting engine with 1, 10, 100 and 1000
// T-Few adapters (random vectors, activated from PEFT directories) under N concurrent requests spread
// uniformly over them, against base-only requests on the same engine and against the naive design (one
// whole merged model copy per custom model, as many as fit in memory, served in turn).
// Then LoRA, on an engine of its own with LoRA tables: 100 random LoRA adapters (on q_proj and v_proj), half
// rank 8 and half rank 32, against base-only on that engine (`lora_mixed_over_base_100`).
// Then adapter tiers (serve-tiers.ts): cold activation from disk (T-Few, LoRA r16), 2000 endpoints over 256
// rows under a Zipf request mix against all hot. Then the prefill scenarios of serve-prefill.ts (prefix cache
// TTFT, TPOT while long prompts arrive), then serve-step-thread.ts (activation and time to first byte while
// 64 streams decode, steps on the JS thread against a worker thread).
// Flags: --lora-only (base-only and mixed LoRA alone: the one key), --tiers-only (the tier part alone), --prefill-only (the prefill scenarios alone; --chunk=N), --step-thread-only, --json, --requests=N (64), --tokens=N (32 new tokens), --prompt=N (16), --rounds=N (2, best
// of), --threads=N, --naive-mem-gb=G.

import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { freemem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createIa3, mergeIa3 } from "../src/adapters/ia3.ts";
import { createLora, loraConfig } from "../src/adapters/lora.ts";
import { loadAdapter, saveAdapter } from "../src/adapters/peft-io.ts";
import { Rng } from "../src/engine/index.ts";
import { type LoadedModel, loadModel } from "../src/models/index.ts";
import { HostingEngine } from "../src/serving/hosting/hosting-engine.ts";
import { ModelRunner } from "../src/serving/model-runner.ts";
import { SlotCache } from "../src/serving/hosting/slot-cache.ts";
import type { HostedGeneration } from "../src/serving/hosting/hosted-request.ts";
import { ensureSmolLMRandom } from "./smollm-random.ts";
import { prefillScenarios } from "./serve-prefill.ts";
import { tiersBench } from "./serve-tiers.ts";
import { stepThreadBench } from "./serve-step-thread.ts";

const ADAPTERS = 1000;
const UNDER_LOAD = 20;
const LORAS = 100;
const LORA_RANKS = [8, 32];

interface Load {
  name: string;
  requests: number;
  tokens: number;
  wallS: number;
  tokPerS: number;
  ttft: { p50: number; p99: number };
  tpot: { p50: number; p99: number };
  rssMb: number;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
};

function flag(args: string[], name: string, dflt: number): number {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  const v = a ? Number(a.slice(name.length + 3)) : dflt;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name}: expected a positive number, got ${a}`);
  return v;
}

/** Random T-Few adapters of this base in PEFT layout (with its fingerprint), written once into .sprig-cache. */
async function ensureAdapters(engine: HostingEngine, model: LoadedModel, n: number): Promise<string[]> {
  const root = fileURLToPath(new URL(`../.sprig-cache/serve-adapters/${engine.fingerprint.slice(3, 15)}/`, import.meta.url));
  const dirs = Array.from({ length: n }, (_, i) => join(root, `a${i}`));
  if (existsSync(join(root, `complete-${n}`))) return dirs;
  await mkdir(root, { recursive: true });
  const rng = new Rng(7);
  for (const dir of dirs) {
    const a = createIa3(model.config);
    for (const t of a.tensors.values()) for (let i = 0; i < t.data.length; i++) t.data[i] = 1 + 0.2 * (rng.next() * 2 - 1);
    await saveAdapter(dir, a, { baseFingerprint: engine.fingerprint });
  }
  await writeFile(join(root, `complete-${n}`), "");
  return dirs;
}

/** `requests` concurrent greedy requests, request i on adapters[i % adapters.length]; all submitted at once. */
async function load(
  engine: HostingEngine,
  name: string,
  adapters: Array<string | null>,
  o: { requests: number; tokens: number; prompt: number; vocab: number },
  during?: () => Promise<void>,
): Promise<Load> {
  const rng = new Rng(42);
  const t0 = performance.now();
  const jobs: Promise<HostedGeneration>[] = [];
  for (let i = 0; i < o.requests; i++) {
    const promptIds = Array.from({ length: o.prompt }, () => 1 + rng.int(o.vocab - 1));
    jobs.push(
      engine.submit({
        adapter: adapters[i % adapters.length]!,
        promptIds,
        sampling: { temperature: 0, maxTokens: o.tokens, stopTokens: [] },
      }),
    );
  }
  const side = during?.();
  const gens = await Promise.all(jobs);
  const wallS = (performance.now() - t0) / 1000;
  await side;
  const tokens = gens.reduce((s, g) => s + g.ids.length, 0);
  const ttft = gens.map((g) => g.timings.firstTokenMs ?? g.timings.totalMs);
  const tpot = gens.map((g) => (g.timings.totalMs - (g.timings.firstTokenMs ?? 0)) / Math.max(1, g.ids.length - 1));
  return {
    name,
    requests: o.requests,
    tokens,
    wallS,
    tokPerS: tokens / wallS,
    ttft: { p50: pct(ttft, 50), p99: pct(ttft, 99) },
    tpot: { p50: pct(tpot, 50), p99: pct(tpot, 99) },
    rssMb: process.memoryUsage().rss / 2 ** 20,
  };
}

/**
 * Why the batch is compacted: a decode step with `running` rows as a cache of that width, against the same
 * rows in a cache as wide as the batch limit with the other slots idle (masked rows with no past).
 */
async function kvLayout(
  model: LoadedModel,
  running: number,
  width: number,
  threads?: number,
): Promise<{ compactMs: number; maskedMs: number }> {
  const runner = await ModelRunner.create(model, { threads, allowSpinning: false });
  const c = model.config;
  const step = async (w: number) => {
    const cache = new SlotCache(c.numLayers, c.numKvHeads, c.headDim);
    cache.resize(w, 64, 0);
    const rows = Array.from({ length: w }, (_, b) => (b < running ? { ids: [7], pastLen: 40 } : { ids: [0], pastLen: 0 }));
    const ts: number[] = [];
    for (let i = 0; i < 6; i++) {
      const t0 = performance.now();
      await runner.forward(rows, cache);
      if (i > 0) ts.push(performance.now() - t0);
    }
    return pct(ts, 50);
  };
  try {
    // interleaved, so that load from other processes hits both alike
    const a = [await step(running), await step(width)];
    const b = [await step(running), await step(width)];
    return { compactMs: Math.min(a[0]!, b[0]!), maskedMs: Math.min(a[1]!, b[1]!) };
  } finally {
    await runner.dispose();
  }
}

/**
 * The naive design: each custom model is a whole model (its adapter merged into a copy of the weights) in
 * a session of its own. As many as fit in `budget` bytes are loaded at a time and serve their requests
 * (continuously batched per model, models stepping in turn); the next group is loaded after that.
 */
async function naive(
  model: LoadedModel,
  adapterDirs: string[],
  o: { requests: number; tokens: number; prompt: number; vocab: number; threads?: number },
  budget: number,
): Promise<Load & { fit: number; perCopyMb: number }> {
  const n = adapterDirs.length;
  // a merged copy shares the unadapted weights with `model` in JS; the session holds a whole copy
  const copy = async (k: number): Promise<LoadedModel> => ({
    ...model,
    weights: new Map(mergeIa3(model.config, model.weights, await loadAdapter(adapterDirs[k]!, model.config))),
  });
  const engine = await HostingEngine.create({
    model,
    maxBatchSize: o.requests,
    maxAdapters: 0,
    lora: { maxAdapters: 0 },
    maxFullModels: n,
    kvCacheBytes: 2 ** 32,
    maxQueue: o.requests * 2,
    threads: o.threads,
  });
  try {
    const rss0 = process.memoryUsage().rss;
    await engine.activate("m0", await copy(0));
    const perCopy = Math.max(1, process.memoryUsage().rss - rss0);
    const fit = Math.max(1, Math.min(n, Math.floor(budget / perCopy)));
    // the first group loads before the clock starts (start-up); later groups are swapped in on the clock
    for (let k = 1; k < fit; k++) await engine.activate(`m${k}`, await copy(k));
    const t0 = performance.now();
    // every request arrives at t0: requests of later groups wait for their model to be swapped in
    const gens: Array<{ g: HostedGeneration; waited: number }> = [];
    const rng = new Rng(42);
    const prompts = Array.from({ length: o.requests }, () => Array.from({ length: o.prompt }, () => 1 + rng.int(o.vocab - 1)));
    for (let g0 = 0; g0 < n; g0 += fit) {
      const group = Array.from({ length: Math.min(fit, n - g0) }, (_, k) => g0 + k);
      if (g0 > 0) for (const k of group) await engine.activate(`m${k}`, await copy(k));
      const jobs: Promise<{ g: HostedGeneration; waited: number }>[] = [];
      const waited = performance.now() - t0;
      for (let i = 0; i < o.requests; i++) {
        const k = i % n;
        const sampling = { temperature: 0, maxTokens: o.tokens, stopTokens: [] };
        if (group.includes(k))
          jobs.push(engine.submit({ adapter: `m${k}`, promptIds: prompts[i]!, sampling }).then((g) => ({ g, waited })));
      }
      gens.push(...(await Promise.all(jobs)));
      if (g0 + fit < n) for (const k of group) await engine.deactivate(`m${k}`);
    }
    const wallS = (performance.now() - t0) / 1000;
    const tokens = gens.reduce((s, { g }) => s + g.ids.length, 0);
    const ttft = gens.map(({ g, waited }) => waited + (g.timings.firstTokenMs ?? g.timings.totalMs));
    const tpot = gens.map(({ g }) => (g.timings.totalMs - (g.timings.firstTokenMs ?? 0)) / Math.max(1, g.ids.length - 1));
    const rssMb = process.memoryUsage().rss / 2 ** 20;
    return {
      name: `naive, ${n} copies (${fit} fit)`,
      requests: o.requests,
      tokens,
      wallS,
      tokPerS: tokens / wallS,
      ttft: { p50: pct(ttft, 50), p99: pct(ttft, 99) },
      tpot: { p50: pct(tpot, 50), p99: pct(tpot, 99) },
      rssMb,
      fit,
      perCopyMb: perCopy / 2 ** 20,
    };
  } finally {
    await engine.close();
  }
}

/**
 * Mixed LoRA against base-only on an engine with LoRA tables (and no T-Few ones): LORAS random adapters on
 * q_proj and v_proj, ranks alternating over LORA_RANKS, request i on adapter i; rounds interleaved, best of each.
 */
async function loraLoad(
  model: LoadedModel,
  o: { requests: number; tokens: number; prompt: number; vocab: number; threads?: number },
  rounds: number,
  log: (s: string) => void,
): Promise<{ base: number; mixed: number; ratio: number }> {
  const engine = await HostingEngine.create({
    model,
    maxBatchSize: o.requests,
    maxAdapters: 0,
    lora: { maxAdapters: LORAS },
    kvCacheBytes: 2 ** 32,
    maxQueue: o.requests * 2,
    threads: o.threads,
  });
  try {
    // in memory (a rank-32 adapter is 7 MB): random A and B
    const rng = new Rng(11);
    for (let i = 0; i < LORAS; i++) {
      const r = LORA_RANKS[i % LORA_RANKS.length]!;
      const a = createLora(model.config, loraConfig(model.config, { r, alpha: 2 * r, dropout: 0 }), 100 + i);
      for (const [k, t] of a.tensors)
        if (k.endsWith("lora_B.weight")) for (let j = 0; j < t.data.length; j++) t.data[j] = 0.02 * (rng.next() * 2 - 1);
      await engine.activate(`l${i}`, a);
    }
    const names = Array.from({ length: LORAS }, (_, i) => `l${i}`);
    await load(engine, "warm-up", [null, names[0]!], { ...o, requests: 4, tokens: 2 });
    let base = 0;
    let mixed = 0;
    const show = (r: Load) =>
      log(
        `  ${r.name.padEnd(34)} ${r.tokPerS.toFixed(1).padStart(7)} tok/s  TPOT p50 ${r.tpot.p50.toFixed(0)} ms  RSS ${r.rssMb.toFixed(0)} MB`,
      );
    for (let round = 0; round < rounds; round++) {
      const b = await load(engine, "base only (LoRA engine)", [null], o);
      const m = await load(engine, `mixed LoRA, ${LORAS} (r ${LORA_RANKS.join("/")})`, names, o);
      show(b);
      show(m);
      base = Math.max(base, b.tokPerS);
      mixed = Math.max(mixed, m.tokPerS);
    }
    const ratio = +(mixed / base).toFixed(3);
    log(`  best of ${rounds} rounds: base ${base.toFixed(1)} tok/s, mixed LoRA ${mixed.toFixed(1)} tok/s: ${ratio} (goal ≥ 0.8)`);
    return { base, mixed, ratio };
  } finally {
    await engine.close();
  }
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes("--json");
  const o = {
    requests: flag(args, "requests", 64),
    tokens: flag(args, "tokens", 32),
    prompt: flag(args, "prompt", 16),
    vocab: 0,
    threads: args.some((a) => a.startsWith("--threads=")) ? flag(args, "threads", 1) : undefined,
  };
  const log = (s: string) => (json ? process.stderr : process.stdout).write(`${s}\n`);
  const model = await loadModel(await ensureSmolLMRandom());
  o.vocab = model.config.vocabSize;
  if (args.includes("--prefill-only")) {
    const keys = await prefillScenarios(model, o.threads, args, log);
    if (json) process.stdout.write(`${JSON.stringify({ bench: "serve", ...keys })}\n`);
    return;
  }
  if (args.includes("--lora-only")) {
    const lora = await loraLoad(model, o, flag(args, "rounds", 2), log);
    if (json) process.stdout.write(`${JSON.stringify({ bench: "serve", lora_mixed_over_base_100: lora.ratio })}\n`);
    return;
  }
  const stepThread = () => stepThreadBench(model, o.threads, log, (e, n) => ensureAdapters(e, model, n));
  if (args.includes("--step-thread-only")) {
    const t = await stepThread();
    if (json) process.stdout.write(`${JSON.stringify({ bench: "serve", ...t })}\n`);
    return;
  }
  const tiers = () => tiersBench(model, o, flag(args, "rounds", 2), log, load, (e, n) => ensureAdapters(e, model, n));
  if (args.includes("--tiers-only")) {
    const t = await tiers();
    if (json) process.stdout.write(`${JSON.stringify({ bench: "serve", ...t })}\n`);
    return;
  }
  const engine = await HostingEngine.create({
    model,
    maxBatchSize: o.requests,
    maxAdapters: ADAPTERS + UNDER_LOAD,
    lora: { maxAdapters: 0 },
    kvCacheBytes: 2 ** 32,
    maxQueue: o.requests * 2,
    threads: o.threads,
  });
  const dirs = await ensureAdapters(engine, model, ADAPTERS + UNDER_LOAD);
  log(
    `serve bench: SmolLM2-135M-shaped random base (${(engine.baseBytes / 2 ** 20).toFixed(0)} MB float32), ${o.requests} concurrent requests, ${o.prompt}-token prompts, ${o.tokens} new tokens (greedy), one batch of up to ${o.requests} rows`,
  );
  const runs = new Map<string, Load[]>();
  const activateMs: number[] = [];
  const loadedMs: number[] = [];
  const waitedMs: number[] = [];
  const names = (n: number) => Array.from({ length: n }, (_, i) => `a${i}`);
  let active = 0;
  const activateUpTo = async (n: number) => {
    for (; active < n; active++) activateMs.push((await engine.activate(`a${active}`, dirs[active]!)).ms);
  };
  const show = (r: Load) =>
    log(
      `  ${r.name.padEnd(34)} ${r.tokPerS.toFixed(1).padStart(7)} tok/s  TTFT p50/p99 ${r.ttft.p50.toFixed(0)}/${r.ttft.p99.toFixed(0)} ms  TPOT p50/p99 ${r.tpot.p50.toFixed(0)}/${r.tpot.p99.toFixed(0)} ms  wall ${r.wallS.toFixed(1)} s  RSS ${r.rssMb.toFixed(0)} MB`,
    );
  const record = (r: Load) => {
    runs.set(r.name, [...(runs.get(r.name) ?? []), r]);
    show(r);
  };
  /** the best of a scenario's rounds: the run least disturbed by other load on the machine */
  const best = (name: string) => runs.get(name)!.reduce((a, b) => (b.tokPerS > a.tokPerS ? b : a));
  const rounds = flag(args, "rounds", 2);
  try {
    await load(engine, "warm-up", [null], { ...o, requests: 4, tokens: 2 });
    // rounds interleave every scenario, so that load from other processes hits all of them alike
    for (let round = 0; round < rounds; round++) {
      record(await load(engine, "base only", [null], o));
      for (const n of [1, 10, 100, 1000]) {
        await activateUpTo(n);
        // in the first round at 100 adapters, more are activated while the load runs, at random moments
        const during =
          round === 0 && n === 100
            ? async () => {
                const rng = new Rng(3);
                for (let i = 0; i < UNDER_LOAD; i++) {
                  const due = performance.now() + 100 + rng.int(400);
                  await new Promise((r) => setTimeout(r, due - performance.now()));
                  loadedMs.push((await engine.activate(`u${i}`, dirs[ADAPTERS + i]!)).ms);
                  waitedMs.push(performance.now() - due);
                }
              }
            : undefined;
        record(await load(engine, `mixed, ${n} adapter${n > 1 ? "s" : ""}`, names(n), o, during));
      }
    }
    const base = best("base only").tokPerS;
    const s = engine.stats();
    const bytesPerAdapter = s.tables.ia3.rowBytes / s.base.bytes;
    await engine.close();

    const kv = await kvLayout(model, 8, o.requests, o.threads);
    log(
      `  KV layout, decode step with 8 running rows: compacted to width 8 ${kv.compactMs.toFixed(0)} ms, in all ${o.requests} slots (idle ones masked) ${kv.maskedMs.toFixed(0)} ms`,
    );

    // the memory the naive design may fill with model copies: half of what is free, at most 8 GiB (the
    // machine is shared; beyond the budget, copies are swapped in and out and the loading time counts)
    const budget = flag(args, "naive-mem-gb", Math.min(8, (0.5 * freemem()) / 2 ** 30)) * 2 ** 30;
    const nv = await naive(model, dirs.slice(0, 10), o, budget);
    show(nv);
    const lora = await loraLoad(model, o, rounds, log);
    const prefill = await prefillScenarios(model, o.threads, args, log);
    const tier = await tiers();
    const threadKeys = await stepThread();
    const mixed = (n: number) => best(`mixed, ${n} adapter${n > 1 ? "s" : ""}`).tokPerS;
    const all = [...activateMs, ...loadedMs];
    log(
      `  best of ${rounds} rounds: base ${base.toFixed(1)} tok/s; mixed ${[1, 10, 100, 1000].map((n) => `${n}: ${mixed(n).toFixed(1)}`).join(", ")} tok/s`,
    );
    log(
      `  LoRA: ${LORAS} adapters of rank ${LORA_RANKS.join(" and ")} mixed ${lora.mixed.toFixed(1)} tok/s = ${lora.ratio} of base-only ${lora.base.toFixed(1)} tok/s (LoRA engine)`,
    );
    log(`  adapter table row: ${s.tables.ia3.rowBytes} bytes = ${(100 * bytesPerAdapter).toFixed(4)}% of the base (goal ≤ 0.1%)`);
    log(
      `  activation from disk: idle p50/p99 ${pct(activateMs, 50).toFixed(2)}/${pct(activateMs, 99).toFixed(2)} ms (${activateMs.length}), under load p50/p99 ${pct(loadedMs, 50).toFixed(2)}/${pct(loadedMs, 99).toFixed(2)} ms (${loadedMs.length}) (goal p99 ≤ 50 ms)`,
    );
    log(
      `  under load, a request to activate (steps on a worker thread, the default): request → active p50/p99 ${pct(waitedMs, 50).toFixed(0)}/${pct(waitedMs, 99).toFixed(0)} ms`,
    );
    log(`  naive: ${nv.perCopyMb.toFixed(0)} MB per model copy, ${nv.fit} of 10 fit in ${(budget / 2 ** 30).toFixed(1)} GB`);
    const out = {
      bench: "serve",
      mixed_over_base_100: +(mixed(100) / base).toFixed(3),
      mixed_over_base_1000: +(mixed(1000) / base).toFixed(3),
      bytes_per_adapter_over_base: +bytesPerAdapter.toExponential(3),
      activate_p99_ms: +pct(all, 99).toFixed(2),
      shared_over_naive_10: +(mixed(10) / nv.tokPerS).toFixed(2),
      lora_mixed_over_base_100: lora.ratio,
      ...prefill,
      ...tier,
      ...threadKeys,
    };
    log(
      `  goals: mixed/base@100 ${out.mixed_over_base_100} (≥ 0.9), bytes/adapter ${out.bytes_per_adapter_over_base} (≤ 1e-3), activate p99 ${out.activate_p99_ms} ms (≤ 50), shared/naive@10 ${out.shared_over_naive_10} (≥ 3), LoRA mixed/base@100 ${out.lora_mixed_over_base_100} (≥ 0.8)`,
    );
    if (json) process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    await engine.close();
  }
}
