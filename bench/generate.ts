// Generation benchmark on a random SmolLM2-135M-shaped model: decode tokens/s at batch 1 and 16 (past ≈ 256;
// time-major cache, head-first beside it), prefill tokens/s (512-token prompt), against a memory-bandwidth
// bound and the MatMul peak measured in the same run; decode B=1 with int8 and int4 weights (the hosting
// engine's `weights` formats) against float32. Flags: --json, --iters=N (rounds), --profile (a decode step's
// time: JS parts and ORT ops), --spin (idle threads spin, the runner's default outside the hosting engine).

import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Graph, op } from "../src/engine/index.ts";
import { type Compiled, compile } from "../src/engine/runtime/compile.ts";
import { type LoadedModel, loadModel } from "../src/models/index.ts";
import type { KvCache } from "../src/serving/kv-cache.ts";
import { ModelRunner } from "../src/serving/model-runner.ts";
import { Sampler, samplingOptions } from "../src/serving/sampling.ts";
import { matmulChain } from "./engine.ts";
import { SMOLLM2_135M } from "./llama-block.ts";
import { readProfileRuns } from "./ort-profile.ts";
import { ensureSmolLMRandom } from "./smollm-random.ts";

const PAST = 256;
const PROMPT = 512;
const B16 = 16;
/** decode steps per timed sample, starting at past length PAST */
const STEPS = 8;
/** bytes per buffer of the copy-bandwidth probe: far beyond any cache */
const COPY_FLOATS = 64 * 1024 * 1024;

interface Stat {
  best: number;
  median: number;
}

const stat = (xs: number[]): Stat => {
  const s = [...xs].sort((a, b) => a - b);
  return { best: s[0]!, median: s[Math.floor(s.length / 2)]! };
};

/** Tables a token only gathers one row of: positions always, the token embedding unless the LM head shares it. */
function gatheredOnly(m: LoadedModel, name: string): boolean {
  const embedding = name === "model.embed_tokens.weight" || name === "transformer.wte.weight";
  return name === "transformer.wpe.weight" || (embedding && !m.config.tieWordEmbeddings);
}

/** Float32 bytes the graph reads per decode step: every matrix and norm once, gathered tables one row. */
function weightBytesPerToken(m: LoadedModel): number {
  let n = 0;
  for (const [name, w] of m.weights) n += gatheredOnly(m, name) ? m.config.hiddenSize : w.data.length;
  return 4 * n;
}

/** Parameters that multiply activations in MatMuls: projections and the LM head (not norms, not gathers). */
function matmulParams(m: LoadedModel): number {
  let n = 0;
  for (const [name, w] of m.weights) if (w.shape.length === 2 && !gatheredOnly(m, name)) n += w.data.length;
  return n;
}

/** FLOPs of one decode step: 2·params·B for the MatMuls, plus QKᵀ and PV over S = past + 1 keys per head and layer. */
function decodeFlops(m: LoadedModel, B: number, past: number): number {
  const c = m.config;
  return 2 * matmulParams(m) * B + B * c.numLayers * c.numHeads * 4 * c.headDim * (past + 1);
}

interface Probe {
  m: Compiled;
  run: () => Promise<unknown>;
}

/** Pure-read bandwidth probe in ORT: a row sum over a large tensor, with the runner's thread count. */
async function reduceProbe(threads: number, data: Float32Array): Promise<Probe> {
  const g = new Graph();
  const x = g.input("x", "float32", [data.length / 1024, 1024]); // (R, 1024)
  g.output("y", op.sum(x, [1]));
  const m = await compile(g, { intraOpThreads: threads, allowSpinning: false });
  const feeds = { x: { dtype: "float32" as const, shape: [data.length / 1024, 1024], data } };
  const out = m.allocOutputs(feeds);
  return { m, run: () => m.run(feeds, { outputs: out }) };
}

/** Weight-streaming probe: one row times a large initializer matrix, the way a batch-1 decode reads its weights. */
async function gemvProbe(threads: number, data: Float32Array): Promise<Probe> {
  const K = 1024;
  const g = new Graph();
  const x = g.input("x", "float32", [1, K]);
  g.output("y", op.matmul(x, g.initializer("w", "float32", [K, data.length / K], data))); // (1, N)
  const m = await compile(g, { intraOpThreads: threads, allowSpinning: false });
  const feeds = { x: { dtype: "float32" as const, shape: [1, K], data: new Float32Array(K).fill(1) } };
  const out = m.allocOutputs(feeds);
  return { m, run: () => m.run(feeds, { outputs: out }) };
}

/** Fills rows' caches with a random prompt of `len` tokens (one batched prefill). */
async function prefillCache(r: ModelRunner, cache: KvCache, len: number, seed: number): Promise<void> {
  const V = r.model.config.vocabSize;
  const rows = Array.from({ length: cache.slots }, (_, b) => ({
    ids: Array.from({ length: len }, (_, t) => (seed + 7919 * b + 104729 * t) % V),
    pastLen: 0,
  }));
  await r.advance(cache, rows);
}

/**
 * `STEPS` greedy decode steps from past length PAST, as generate() runs them (advance, then pick per row).
 * Each step is a sample of its own: on a shared machine the best ones are those no other process disturbed.
 * → ms per step
 */
async function decodeSteps(r: ModelRunner, cache: KvCache, samplers: Sampler[], last: number[]): Promise<number[]> {
  const V = r.model.config.vocabSize;
  const ms: number[] = [];
  for (let s = 0; s < STEPS; s++) {
    const t0 = performance.now();
    const out = await r.advance(
      cache,
      last.map((id) => ({ ids: [id], pastLen: PAST + s })),
    );
    for (let b = 0; b < last.length; b++) last[b] = samplers[b]!.pick(out.logits.subarray(b * V, (b + 1) * V), out.logsumexp[b]).id;
    ms.push(performance.now() - t0);
  }
  return ms;
}

/** One decode step at batch B, taken apart: JS parts (runner timing, sampling) and ORT kernel time by op type. */
async function profileDecode(model: LoadedModel, threads: number, B: number): Promise<void> {
  const prefix = join(tmpdir(), `sprig-bench-generate-${process.pid}-b${B}`);
  const r = await ModelRunner.create(model, { threads, profilePrefix: prefix, allowSpinning: false });
  const cache = r.newCache(B, PAST + STEPS);
  await prefillCache(r, cache, PAST, 3);
  const samplers = Array.from({ length: B }, () => new Sampler(samplingOptions({ temperature: 0 }), []));
  const last = Array.from({ length: B }, (_, b) => b + 1);
  await decodeSteps(r, cache, samplers, last); // warm-up
  Object.assign(r.timing, { steps: 0, feedMs: 0, runMs: 0, cacheWriteMs: 0 });
  const rounds = 3;
  let stepMs = 0;
  for (let i = 0; i < rounds; i++) stepMs += (await decodeSteps(r, cache, samplers, last)).reduce((a, b) => a + b, 0);
  r.endProfiling();
  const t = r.timing;
  await r.dispose();
  const { ops, runUs } = readProfileRuns(prefix, rounds * STEPS);
  const per = (ms: number) => (ms / t.steps).toFixed(3).padStart(8);
  const step = stepMs / t.steps;
  const kernels = ops.reduce((a, o) => a + o.us, 0) / 1000;
  console.log(`\ndecode step at B=${B}, profiled (ms per step; profiling slows ORT a little):`);
  console.log(
    `  whole step ${per(stepMs)}  = feeds ${per(t.feedMs)} + run ${per(t.runMs)} + cache writes ${per(t.cacheWriteMs)} + sampling ${(step - (t.feedMs + t.runMs + t.cacheWriteMs) / t.steps).toFixed(3)}`,
  );
  console.log(
    `  run ${per(t.runMs)}  = ORT model_run ${(runUs / 1000).toFixed(3)} (kernels ${kernels.toFixed(3)}) + binding/output copies ${(t.runMs / t.steps - runUs / 1000).toFixed(3)}`,
  );
  for (const o of ops.slice(0, 10))
    console.log(
      `    ${o.op.padEnd(30)} ${(o.us / 1000).toFixed(3).padStart(8)} ms ${(100 * o.share).toFixed(1).padStart(5)}%  ×${o.count}`,
    );
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes("--json");
  const iters = Number(args.find((a) => a.startsWith("--iters="))?.slice(8) ?? 10);
  const threads = availableParallelism();
  const loadBefore = loadavg()[0]!;
  const model = await loadModel(await ensureSmolLMRandom());
  const c = model.config;

  // idle compute threads sleep, as in the hosting engine (spinThreads false): spinning threads fight the
  // other processes of a shared machine for cores; --spin measures the runner's own default instead
  // the time-major cache (the default) gives the main figures; the head-first one (read in place) is measured
  // beside it in the same rounds, so the two compare under the same load; int8/int4 weights as f32's runner
  const spin = args.includes("--spin");
  const runner = await ModelRunner.create(model, { threads, allowSpinning: spin });
  const headRunner = await ModelRunner.create(model, { threads, allowSpinning: spin, cacheLayout: "head" });
  const quantized = {
    int8: await ModelRunner.create(model, { threads, allowSpinning: spin, weights: "int8" }),
    int4: await ModelRunner.create(model, { threads, allowSpinning: spin, weights: "int4" }),
  };
  const qCache = { int8: quantized.int8.newCache(1, PAST + STEPS), int4: quantized.int4.newCache(1, PAST + STEPS) };
  await prefillCache(quantized.int8, qCache.int8, PAST, 1);
  await prefillCache(quantized.int4, qCache.int4, PAST, 1);
  const qLast = { int8: [1], int4: [1] };
  const cache1 = runner.newCache(1, PAST + STEPS);
  const cache16 = runner.newCache(B16, PAST + STEPS);
  const cacheP = runner.newCache(1, PROMPT);
  const headCache1 = headRunner.newCache(1, PAST + STEPS);
  const headCache16 = headRunner.newCache(B16, PAST + STEPS);
  await prefillCache(runner, cache1, PAST, 1);
  await prefillCache(runner, cache16, PAST, 2);
  await prefillCache(headRunner, headCache1, PAST, 1);
  await prefillCache(headRunner, headCache16, PAST, 2);
  const greedy = samplingOptions({ temperature: 0 });
  const samplers1 = [new Sampler(greedy, [])];
  const samplers16 = Array.from({ length: B16 }, () => new Sampler(greedy, []));
  const last1 = [1];
  const last16 = Array.from({ length: B16 }, (_, b) => b + 1);
  const headLast1 = [...last1];
  const headLast16 = [...last16];
  const prompt = Array.from({ length: PROMPT }, (_, t) => (31 * t + 5) % c.vocabSize);

  // references, measured in the same rounds so that load from other processes hits them alike
  const src = new Float32Array(COPY_FLOATS).fill(1);
  const dst = new Float32Array(COPY_FLOATS).fill(0.5); // written, so no page is the shared zero page
  const reduce = await reduceProbe(threads, src);
  const gemv = await gemvProbe(threads, dst);
  const chain = matmulChain(SMOLLM2_135M, 3);
  const mm = await compile(chain.g, { intraOpThreads: threads, allowSpinning: false });
  const mmOut = mm.allocOutputs(chain.feeds);

  const t = {
    copy: [] as number[],
    reduce: [] as number[],
    gemv: [] as number[],
    mm: [] as number[],
    d1: [] as number[],
    d16: [] as number[],
    t1: [] as number[],
    t16: [] as number[],
    pre: [] as number[],
    d1int8: [] as number[],
    d1int4: [] as number[],
  };
  const time = async (f: () => unknown): Promise<number> => {
    const t0 = performance.now();
    await f();
    return performance.now() - t0;
  };
  // the references get as many samples as the decode steps, so that best-of-N compares like with like
  const times = async (f: () => unknown): Promise<number[]> => {
    const ms: number[] = [];
    for (let s = 0; s < STEPS; s++) ms.push(await time(f));
    return ms;
  };
  for (let i = -1; i < iters; i++) {
    const round: Array<[keyof typeof t, number[]]> = [
      ["copy", await times(() => dst.set(src))],
      ["reduce", await times(reduce.run)],
      ["gemv", await times(gemv.run)],
      ["mm", await times(() => mm.run(chain.feeds, { outputs: mmOut }))],
      ["d1", await decodeSteps(runner, cache1, samplers1, last1)],
      ["d1int8", await decodeSteps(quantized.int8, qCache.int8, samplers1, qLast.int8)],
      ["d1int4", await decodeSteps(quantized.int4, qCache.int4, samplers1, qLast.int4)],
      ["d16", await decodeSteps(runner, cache16, samplers16, last16)],
      ["t1", await decodeSteps(headRunner, headCache1, samplers1, headLast1)],
      ["t16", await decodeSteps(headRunner, headCache16, samplers16, headLast16)],
      ["pre", [await time(() => runner.advance(cacheP, [{ ids: prompt, pastLen: 0 }]))]],
    ];
    if (i >= 0) for (const [k, ms] of round) t[k].push(...ms);
  }
  await Promise.all([
    runner.dispose(),
    headRunner.dispose(),
    quantized.int8.dispose(),
    quantized.int4.dispose(),
    reduce.m.dispose(),
    gemv.m.dispose(),
    mm.dispose(),
  ]);

  // rates from the best and median times. Copy traffic counts bytes read + written (STREAM convention); the
  // bound takes the fastest probe, so the ratio is never flattered by a slow reference
  const rate = (s: Stat, amount: number): Stat => ({ best: amount / s.best, median: amount / s.median });
  const copyGBs = rate(stat(t.copy), (8 * COPY_FLOATS) / 1e6);
  const readGBs = rate(stat(t.reduce), (4 * COPY_FLOATS) / 1e6);
  const gemvGBs = rate(stat(t.gemv), (4 * COPY_FLOATS) / 1e6);
  const bwGBs = Math.max(copyGBs.best, readGBs.best, gemvGBs.best);
  const mmGflops = rate(stat(t.mm), chain.flops / 1e6);
  const wBytes = weightBytesPerToken(model);
  const boundTokS = (bwGBs * 1e9) / wBytes;
  const d1 = stat(t.d1);
  const d16 = stat(t.d16);
  const pre = stat(t.pre);
  const tok1 = 1000 / d1.best;
  const tok16 = (1000 * B16) / d16.best;
  const flops16 = decodeFlops(model, B16, PAST + STEPS / 2);
  const gflops16 = flops16 / d16.best / 1e6;
  const t1 = stat(t.t1);
  const t16 = stat(t.t16);
  const headGemmRatio = flops16 / t16.best / 1e6 / mmGflops.best;
  const preTokS = (1000 * PROMPT) / pre.best;
  const d1int8 = stat(t.d1int8);
  const d1int4 = stat(t.d1int4);

  const f = (v: number, d = 1) => v.toFixed(d);
  console.log(
    `generate: random SmolLM2-135M (${c.numLayers} layers, hidden ${c.hiddenSize}, vocab ${c.vocabSize}), ${threads} threads, ${iters} interleaved rounds (decode: ${STEPS} timed steps each)`,
  );
  console.log(
    `  machine load (1-min average) ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after, on ${threads} cores: other work skews the medians more than the bests`,
  );
  console.log(
    `  copy bandwidth    Float32Array.set ${f(COPY_FLOATS / 2 ** 18, 0)} MB, read+write: best ${f(copyGBs.best)} GB/s, median ${f(copyGBs.median)}`,
  );
  console.log(`  read bandwidth    ORT ReduceSum over the same buffer: best ${f(readGBs.best)} GB/s, median ${f(readGBs.median)}`);
  console.log(
    `  weight streaming  ORT MatMul (1×1024)·(1024×${COPY_FLOATS / 1024}) initializer: best ${f(gemvGBs.best)} GB/s, median ${f(gemvGBs.median)}`,
  );
  console.log(
    `  MatMul peak       ${f(chain.flops / 1e9, 2)} GFLOP chain (engine bench): ${f(mmGflops.best)} GFLOP/s best, ${f(mmGflops.median)} median`,
  );
  console.log(`  weights streamed  ${f(wBytes / 1e6)} MB per decode step → bound ${f(boundTokS)} tok/s at ${f(bwGBs)} GB/s`);
  console.log(["".padEnd(32), "best ms", "median ms", "tok/s best", "tok/s med"].map((h, i) => (i ? h.padStart(11) : h)).join(""));
  const row = (name: string, s: Stat, toks: number) =>
    console.log(
      [name.padEnd(32), f(s.best, 2), f(s.median, 2), f((1000 * toks) / s.best), f((1000 * toks) / s.median)]
        .map((x, i) => (i ? x.padStart(11) : x))
        .join(""),
    );
  row(`decode B=1, past ${PAST}`, d1, 1);
  row(`decode B=${B16}, past ${PAST}`, d16, B16);
  row(`  head-first cache, B=1`, t1, 1);
  row(`  head-first cache, B=${B16}`, t16, B16);
  row(`prefill ${PROMPT} tokens, B=1`, pre, PROMPT);
  row(`decode B=1, past ${PAST}, int8`, d1int8, 1);
  row(`decode B=1, past ${PAST}, int4`, d1int4, 1);
  const bwRatio = tok1 / boundTokS;
  const gemmRatio = gflops16 / mmGflops.best;
  // the copy-only bound is what a plain memcpy reference gives; a MatMul streaming weights beats it, so it
  // is shown but is not the bound
  const copyRatio = tok1 / ((copyGBs.best * 1e9) / wBytes);
  console.log(`ratio decode B=1 / bandwidth bound: ${f(bwRatio, 3)} (goal ≥ 0.5; against the copy bandwidth alone ${f(copyRatio, 3)})`);
  console.log(
    `ratio decode B=${B16} (${f(flops16 / 1e9, 2)} GFLOP/step, ${f(gflops16)} GFLOP/s) / MatMul peak: ${f(gemmRatio, 3)} (goal ≥ 0.4; head-first cache ${f(headGemmRatio, 3)})`,
  );

  // weight formats: best against best, as for the other rates (the medians are printed in the table above)
  const int8Ratio = d1.best / d1int8.best;
  const int4Ratio = d1.best / d1int4.best;
  console.log(`ratio decode B=1 int8 / f32 weights: ${f(int8Ratio, 3)} (goal ≥ 1.6); int4 / f32: ${f(int4Ratio, 3)}`);

  if (args.includes("--profile")) for (const B of [1, B16]) await profileDecode(model, threads, B);
  if (json) {
    const r3 = (v: number) => Math.round(v * 1000) / 1000;
    console.log(
      JSON.stringify({
        bench: "generate",
        decode_b1_tok_s: r3(tok1),
        decode_b1_bandwidth_ratio: r3(bwRatio),
        decode_b16_tok_s: r3(tok16),
        decode_b16_gemm_ratio: r3(gemmRatio),
        prefill_tok_s: r3(preTokS),
        decode_b1_tok_s_median: r3(1000 / d1.median),
        decode_b16_tok_s_median: r3((1000 * B16) / d16.median),
        prefill_tok_s_median: r3((1000 * PROMPT) / pre.median),
        decode_b1_copy_bandwidth_ratio: r3(copyRatio),
        bandwidth_gb_s: r3(bwGBs),
        matmul_gflops: r3(mmGflops.best),
        decode_b1_tok_s_head_first: r3(1000 / t1.best),
        decode_b16_tok_s_head_first: r3((1000 * B16) / t16.best),
        decode_b16_gemm_ratio_head_first: r3(headGemmRatio),
        decode_b1_int8_tok_s: r3(1000 / d1int8.best),
        decode_b1_int8_over_f32: r3(int8Ratio),
        decode_b1_int4_tok_s: r3(1000 / d1int4.best),
        decode_b1_int4_over_f32: r3(int4Ratio),
      }),
    );
  }
}
