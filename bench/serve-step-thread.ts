// The serve bench's step-thread scenario (issue 14, item 3), on the random SmolLM2-135M-shaped base: while
// 64 streams decode, PROBES T-Few activations from disk and PROBES streaming HTTP requests (`sprig host`'s
// server, in process) are made at random moments; each is timed from the moment it was due, so time spent
// waiting for a blocked event loop counts. The same run with the engine's steps on the JS thread ("main")
// and on a worker thread ("worker"), in turn; `activate_p99_under_load_ms` and `ttfb_p99_under_load_ms`
// (response headers of the new request) are the worker's. Goal ≤ 50 ms.

import { setMaxListeners } from "node:events";
import type { AddressInfo } from "node:net";
import { loadavg } from "node:os";
import { Rng } from "../src/engine/index.ts";
import type { LoadedModel } from "../src/models/index.ts";
import { createHostServer } from "../src/cli/commands/host-http.ts";
import { HostingEngine } from "../src/serving/hosting/hosting-engine.ts";

const STREAMS = 64;
const PROBES = 20;
/** new tokens per stream: more than the probe window needs (they are cancelled after it) */
const STREAM_TOKENS = 128;

export interface ThreadFigures {
  /** request → active of an adapter activated from disk, p50 / p99 (ms) */
  activate: { p50: number; p99: number };
  /** request sent → response headers of a new streaming request, p50 / p99 (ms) */
  ttfb: { p50: number; p99: number };
  /** request sent → its first token event, p50 (ms): it waits for the running step, then its prefill */
  ttftP50: number;
  /** tokens per second of the decoding streams over the probe window */
  streamTokPerS: number;
  /** KV cache bytes the engine reports at the end of the window (both copies on a worker) */
  kvAllocatedBytes: number;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
};

const sleepUntil = (due: number) => new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));

/** One mode's figures: 64 decoding streams, then PROBES activations and PROBES HTTP requests at random moments. */
async function underLoad(
  model: LoadedModel,
  thread: "main" | "worker",
  threads: number | undefined,
  dirs: (engine: HostingEngine, n: number) => Promise<string[]>,
): Promise<ThreadFigures> {
  const engine = await HostingEngine.create({
    model,
    stepThread: thread,
    maxBatchSize: STREAMS + PROBES,
    maxAdapters: PROBES,
    lora: { maxAdapters: 0 },
    kvCacheBytes: 2 ** 32,
    maxQueue: 4 * STREAMS,
    threads,
  });
  const server = await createHostServer(engine);
  await server.listen({ port: 0, host: "127.0.0.1" });
  const url = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}/generate`;
  const ac = new AbortController();
  setMaxListeners(STREAMS + 1, ac.signal); // one per stream
  try {
    const adapterDirs = await dirs(engine, PROBES);
    const V = model.config.vocabSize;
    const rng = new Rng(21);
    const prompt = () => Array.from({ length: 16 }, () => 1 + rng.int(V - 1));
    await engine.submit({ promptIds: prompt(), sampling: { temperature: 0, maxTokens: 2, stopTokens: [] } }); // warm-up
    let tokens = 0;
    let first!: () => void;
    const started = new Promise<void>((r) => (first = r));
    const streams = Array.from({ length: STREAMS }, () =>
      engine
        .submit({
          promptIds: prompt(),
          sampling: { temperature: 0, maxTokens: STREAM_TOKENS, stopTokens: [] },
          signal: ac.signal,
          onToken: (t) => {
            tokens++;
            if (t.index === 1) first();
          },
        })
        .catch(() => null),
    );
    await started; // the streams are decoding
    const t0 = performance.now();
    const tokens0 = tokens;
    const activate: number[] = [];
    const ttfb: number[] = [];
    const ttft: number[] = [];
    // activations and requests interleaved, each due 100-500 ms after the previous one ended
    for (let i = 0; i < PROBES; i++) {
      let due = performance.now() + 100 + rng.int(400);
      await sleepUntil(due);
      await engine.activate(`p${i}`, adapterDirs[i]!);
      activate.push(performance.now() - due);
      due = performance.now() + 100 + rng.int(400);
      await sleepUntil(due);
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ prompt_ids: prompt(), max_tokens: 1, temperature: 0, stream: true }),
      });
      ttfb.push(performance.now() - due);
      const reader = res.body!.getReader();
      for (let got = false; ;) {
        const { done } = await reader.read();
        if (!got) ttft.push(performance.now() - due);
        got = true;
        if (done) break;
      }
    }
    const streamTokPerS = ((tokens - tokens0) * 1000) / (performance.now() - t0);
    const kvAllocatedBytes = engine.stats().kvCache.allocatedBytes;
    ac.abort();
    await Promise.all(streams);
    return {
      activate: { p50: pct(activate, 50), p99: pct(activate, 99) },
      ttfb: { p50: pct(ttfb, 50), p99: pct(ttfb, 99) },
      ttftP50: pct(ttft, 50),
      streamTokPerS,
      kvAllocatedBytes,
    };
  } finally {
    ac.abort();
    await server.close();
    await engine.close();
  }
}

/** Both modes in turn (main first), logged; the JSON keys are the worker's p99s. */
export async function stepThreadBench(
  model: LoadedModel,
  threads: number | undefined,
  log: (s: string) => void,
  dirs: (engine: HostingEngine, n: number) => Promise<string[]>,
): Promise<{ activate_p99_under_load_ms: number; ttfb_p99_under_load_ms: number }> {
  log(
    `  step thread: ${STREAMS} streams decoding, ${PROBES} activations from disk and ${PROBES} streaming HTTP requests at random moments (timed from when each was due)`,
  );
  const figures: Partial<Record<"main" | "worker", ThreadFigures>> = {};
  for (const thread of ["main", "worker"] as const) {
    const f = await underLoad(model, thread, threads, dirs);
    figures[thread] = f;
    log(
      `  steps on ${thread.padEnd(6)}: activate p50/p99 ${f.activate.p50.toFixed(1)}/${f.activate.p99.toFixed(1)} ms, TTFB p50/p99 ${f.ttfb.p50.toFixed(1)}/${f.ttfb.p99.toFixed(1)} ms, first token p50 ${f.ttftP50.toFixed(0)} ms, streams ${f.streamTokPerS.toFixed(1)} tok/s, KV allocated ${(f.kvAllocatedBytes / 2 ** 20).toFixed(0)} MB (load average ${loadavg()[0]!.toFixed(1)})`,
    );
  }
  const w = figures.worker!;
  log(`  step thread goals: worker activate p99 ${w.activate.p99.toFixed(1)} ms (≤ 50), TTFB p99 ${w.ttfb.p99.toFixed(1)} ms (≤ 50)`);
  return { activate_p99_under_load_ms: +w.activate.p99.toFixed(2), ttfb_p99_under_load_ms: +w.ttfb.p99.toFixed(2) };
}
