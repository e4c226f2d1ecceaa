// Load and soak bench: the whole service (in-process API, worker processes) on the bundled sprig-base
// with a T-Few and a LoRA custom model fine-tuned through the API at set-up, then N concurrent streaming
// clients over the base, T-Few and LoRA endpoints for --minutes, with the T-Few/LoRA endpoints
// deactivated and reactivated and ~5% of clients disconnecting mid-stream. Prints answers by status,
// p50/p99 latency and TTFT, tokens/s, server and worker RSS through the run, and the goals: no 5xx but
// retryable 503s during injected faults, RSS growth after warm-up ≤ 5%.
// Memory is sampled every 1/30 of the run, each time after a full garbage collection of the server process
// (so its figure is live memory, not garbage a collection had not reached yet). Warm-up is the first fifth of
// the run, at most 60 s: V8 compiles the hot paths and sizes its heap, the fetch pools of the 64 clients and
// ONNX Runtime's arenas and the KV cache of the worker grow to their working size (a 4-minute run measured
// them flat from ~40 s on). Growth compares the first sample after warm-up with the last one under load,
// and a least-squares slope over every sample after warm-up shows a trend the two ends could hide.
// The server's process also runs the load clients (their state: a few counters and latency lists).
// Flags: --minutes N (10), --clients N (64), --tokens N (24), --seed N (1), --json.

import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { startService } from "../src/api/service.ts";
import { processExecutors } from "../src/control/workers/process-executors.ts";
import { Rng } from "../src/engine/index.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const BASE = join(REPO, "models", "sprig-base");

const flag = (args: string[], name: string, dflt: number): number => {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return dflt;
  const v = Number(args[i]!.includes("=") ? args[i]!.split("=")[1] : args[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name}: expected a positive number`);
  return v;
};

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
};

/** Resident memory of a process in MB (from /proc; NaN once it is gone). */
function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** V8's full collection, without starting node with --expose-gc (the flag exposes gc in new contexts). */
function collector(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den > 0 ? num / den : NaN;
}

interface Sample {
  atS: number;
  serverMb: number;
  /** the server's V8 heap in use after a full collection: tells a growing heap from memory the allocator merely keeps */
  serverHeapMb: number;
  /** the server's V8 heap committed (used + kept free by V8): RSS follows it, live data is serverHeapMb */
  serverHeapCommittedMb: number;
  workersMb: number;
}

// response bodies are read field by field
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export async function run(args: string[]): Promise<void> {
  const minutes = flag(args, "minutes", 10);
  const clients = flag(args, "clients", 64);
  const tokens = flag(args, "tokens", 24);
  const seed = flag(args, "seed", 1);
  const json = args.includes("--json");
  const say = (s: string) => process.stderr.write(`${s}\n`);

  const dir = await mkdtemp(join(tmpdir(), "sprig-soak-"));
  const ex = processExecutors();
  const svc = await startService({
    dataDir: dir,
    executors: ex,
    control: { defaultBaseModelDir: BASE },
    // the bench measures the service, not the per-key limit
    server: { rateLimit: { perSecond: 1e6, burst: 1e6 } },
  });
  const url = await svc.listen(0);
  const key = (await svc.store.apiKeys.create(["soak"])).key;
  const call = async (method: string, path: string, body?: unknown): Promise<Json> => {
    const r = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(typeof body === "object" ? { "content-type": "application/json" } : {}) },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await r.text();
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  const state = async (path: string, want: string): Promise<Json> => {
    for (;;) {
      const r = await call("GET", path);
      if (r.lifecycleState === want) return r;
      if (r.lifecycleState === "FAILED") throw new Error(`${path} FAILED: ${r.lifecycleDetails}`);
      await new Promise((res) => setTimeout(res, 200));
    }
  };

  try {
    // --- set-up: a T-Few and a LoRA custom model (a short fine-tune each), three endpoints on one cluster
    const t0 = performance.now();
    const base = (await call("GET", "/20231130/models?type=BASE")).items.find((m: Json) => m.artifactPath === BASE);
    if (!base) throw new Error(`the bundled base model ${BASE} is missing`);
    const lines = readFileSync(join(REPO, "data/tasks/demo-record/train.jsonl"), "utf8").split("\n").filter(Boolean).slice(0, 48);
    await call("PUT", "/n/soak/b/data/o/train.jsonl", lines.join("\n") + "\n");
    const ftc = await call("POST", "/20231130/dedicatedAiClusters", { compartmentId: "soak", type: "FINE_TUNING", unitCount: 1 });
    await state(`/20231130/dedicatedAiClusters/${ftc.id}`, "ACTIVE");
    const tune = (type: string) =>
      call("POST", "/20231130/models", {
        compartmentId: "soak",
        baseModelId: base.id,
        displayName: type,
        fineTuneDetails: {
          dedicatedAiClusterId: ftc.id,
          trainingDataset: { datasetType: "OBJECT_STORAGE", namespaceName: "soak", bucketName: "data", objectName: "train.jsonl" },
          trainingConfig: { trainingConfigType: type, totalTrainingEpochs: 1, trainingBatchSize: 8 },
        },
      });
    const tfew = await tune("TFEW_TRAINING_CONFIG");
    await state(`/20231130/models/${tfew.id}`, "ACTIVE");
    const lora = await tune("LORA_TRAINING_CONFIG");
    await state(`/20231130/models/${lora.id}`, "ACTIVE");
    const hc = await call("POST", "/20231130/dedicatedAiClusters", { compartmentId: "soak", type: "HOSTING", unitCount: 1 });
    await state(`/20231130/dedicatedAiClusters/${hc.id}`, "ACTIVE");
    const eps: { id: string; kind: string }[] = [];
    for (const [kind, m] of [
      ["base", base],
      ["tfew", tfew],
      ["lora", lora],
    ] as const) {
      const e = await call("POST", "/20231130/endpoints", {
        compartmentId: "soak",
        modelId: m.id,
        dedicatedAiClusterId: hc.id,
        displayName: `soak-${kind}`,
      });
      eps.push({ id: e.id, kind });
    }
    for (const e of eps) await state(`/20231130/endpoints/${e.id}`, "ACTIVE");
    const setupS = (performance.now() - t0) / 1000;
    say(`set-up done in ${setupS.toFixed(1)} s; ${clients} clients for ${minutes} min`);

    // --- the soak
    const durationMs = minutes * 60_000;
    const warmMs = Math.min(60_000, durationMs / 5);
    const gc = collector();
    const start = performance.now();
    const elapsed = () => performance.now() - start;
    const statuses = new Map<string, number>();
    const count = (k: string) => statuses.set(k, (statuses.get(k) ?? 0) + 1);
    const latency: number[] = [];
    const ttft: number[] = [];
    let completionTokens = 0;
    let measuredTokens = 0;
    let faultWindow = false;
    const fivexx: string[] = [];
    const samples: Sample[] = [];
    const workers = () => ex.hosting.pools.get(hc.id)?.pids ?? [];
    const sample = () => {
      gc();
      samples.push({
        atS: elapsed() / 1000,
        serverMb: rssMb(process.pid),
        serverHeapMb: process.memoryUsage().heapUsed / 2 ** 20,
        serverHeapCommittedMb: process.memoryUsage().heapTotal / 2 ** 20,
        workersMb: workers().reduce((a, p) => a + rssMb(p), 0),
      });
    };
    const streamErrors = new Set<string>();

    const client = async (i: number) => {
      const r = new Rng(seed * 7919 + i);
      while (elapsed() < durationMs) {
        const ep = eps[Math.floor(r.next() * eps.length)]!;
        const disconnect = r.next() < 0.05;
        const ac = new AbortController();
        const t = performance.now();
        let first = NaN;
        let got = 0;
        try {
          const res = await fetch(`${url}/v1/completions`, {
            method: "POST",
            signal: ac.signal,
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
            body: JSON.stringify({
              model: ep.id,
              prompt: `Text: Today Ella feels happy (${i}).\nRecord:`,
              max_tokens: tokens,
              temperature: 0.7,
              seed: i,
              stream: true,
            }),
          });
          if (res.status !== 200) {
            count(String(res.status));
            if (res.status >= 500 && !(res.status === 503 && faultWindow)) fivexx.push(`${res.status} ${(await res.text()).slice(0, 200)}`);
            else await res.body?.cancel();
            await new Promise((s) => setTimeout(s, 50));
            continue;
          }
          const reader = res.body!.getReader();
          const dec = new TextDecoder();
          let buf = "";
          let failed = false;
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buf += dec.decode(value, { stream: true });
            let k: number;
            while ((k = buf.indexOf("\n\n")) >= 0) {
              const frame = buf.slice(0, k);
              buf = buf.slice(k + 2);
              const data = frame.startsWith("data: ") ? frame.slice(6) : "";
              if (!data || data === "[DONE]") continue;
              const ev = JSON.parse(data) as Json;
              if (ev.error) {
                failed = true;
                if (streamErrors.size < 5) streamErrors.add(String(ev.error.message).slice(0, 200));
              } else if (ev.choices?.[0]?.text) {
                if (!got) first = performance.now() - t;
                got++;
              }
            }
            if (disconnect && got >= 2) {
              ac.abort();
              break;
            }
          }
          if (disconnect && got >= 2) count("disconnected by the client");
          else if (failed) count("200 with an error event");
          else {
            count("200");
            latency.push(performance.now() - t);
          }
          if (Number.isFinite(first)) ttft.push(first);
          completionTokens += got;
          if (elapsed() > warmMs) measuredTokens += got;
        } catch (e) {
          if ((e as Error).name === "AbortError") count("disconnected by the client");
          else count(`network error: ${(e as Error).message}`);
        }
      }
    };

    // faults: every tenth of the run, deactivate one custom endpoint and reactivate it
    const toggler = (async () => {
      let n = 0;
      while (elapsed() < durationMs - 5000) {
        await new Promise((s) => setTimeout(s, durationMs / 10));
        if (elapsed() >= durationMs - 5000) break;
        const ep = eps[1 + (n++ % 2)]!;
        faultWindow = true;
        try {
          await call("POST", `/20231130/endpoints/${ep.id}/actions/deactivate`);
          await state(`/20231130/endpoints/${ep.id}`, "INACTIVE");
          await call("POST", `/20231130/endpoints/${ep.id}/actions/activate`);
          await state(`/20231130/endpoints/${ep.id}`, "ACTIVE");
        } finally {
          faultWindow = false;
        }
      }
      return n;
    })();
    const every = durationMs / 30;
    let sampling = true;
    const sampler = (async () => {
      for (let at = every; sampling && at < durationMs; at += every) {
        await new Promise((s) => setTimeout(s, at - elapsed()));
        if (sampling) sample();
      }
    })();
    await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
    sampling = false;
    const toggles = await toggler;
    await sampler;
    sample(); // after the load: for the record (in-flight requests' memory is gone), not for the goal

    const measuredS = (durationMs - warmMs) / 1000;
    const loadSamples = samples.slice(0, -1);
    const after = loadSamples.filter((x) => x.atS * 1000 >= warmMs);
    const [first, last] = [after[0], after.at(-1)];
    const growth = (k: "serverMb" | "workersMb") => (first && last ? (last[k] - first[k]) / first[k] : NaN);
    const perMin = (k: "serverMb" | "workersMb") =>
      after.length >= 3
        ? slope(
            after.map((x) => x.atS / 60),
            after.map((x) => x[k]),
          )
        : NaN;
    const round = (x: number, d = 3) => (Number.isFinite(x) ? Number(x.toFixed(d)) : null);
    const result = {
      bench: "soak",
      note: "measured on the machine of the run; compare figures of one run only",
      minutes,
      clients,
      seed,
      maxTokens: tokens,
      setupS: Number(setupS.toFixed(1)),
      endpoints: eps.map((e) => e.kind),
      toggles,
      statuses: Object.fromEntries([...statuses].sort()),
      latencyMs: { p50: Math.round(pct(latency, 50)), p99: Math.round(pct(latency, 99)) },
      ttftMs: { p50: Math.round(pct(ttft, 50)), p99: Math.round(pct(ttft, 99)) },
      tokensPerS: Number((measuredTokens / measuredS).toFixed(1)),
      completionTokens,
      warmUp: {
        seconds: Math.round(warmMs / 1000),
        means:
          "the first fifth of the run (at most 60 s): JIT, heap sizing, fetch pools, ORT arenas and KV cache reach their working size; figures after it are measured",
      },
      memorySampling: "every 1/30 of the run, after a full GC of the server process; the server process also runs the load clients",
      rssMb: samples.map((x, i) => ({
        atS: Math.round(x.atS),
        ...(i === samples.length - 1 ? { afterLoad: true } : {}),
        server: Math.round(x.serverMb),
        serverHeap: Math.round(x.serverHeapMb),
        serverHeapCommitted: Math.round(x.serverHeapCommittedMb),
        workers: Math.round(x.workersMb),
      })),
      rssGrowthAfterWarmup: {
        fromS: first ? Math.round(first.atS) : null,
        toS: last ? Math.round(last.atS) : null,
        server: round(growth("serverMb")),
        workers: round(growth("workersMb")),
        serverMbPerMin: round(perMin("serverMb"), 2),
        workersMbPerMin: round(perMin("workersMb"), 2),
      },
      goals: {
        no5xxButRetryable503DuringFaults: fivexx.length === 0,
        rssGrowthAtMost5Percent: growth("serverMb") <= 0.05 && growth("workersMb") <= 0.05,
      },
      unexpected5xx: fivexx.slice(0, 5),
      streamErrors: [...streamErrors],
    };
    if (!json) {
      say(`answers: ${JSON.stringify(result.statuses)}`);
      say(
        `latency p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms; TTFT p50 ${result.ttftMs.p50} ms, p99 ${result.ttftMs.p99} ms; ${result.tokensPerS} tokens/s after warm-up`,
      );
      say(`warm-up: ${result.warmUp.seconds} s (${result.warmUp.means})`);
      say(
        `RSS MB (server/its heap after GC/workers): ${result.rssMb.map((s) => `${s.atS}s ${s.server}/${s.serverHeap}/${s.workers}`).join(", ")}`,
      );
      const g = result.rssGrowthAfterWarmup;
      say(
        `RSS growth from ${g.fromS} s to ${g.toS} s: server ${g.server}, workers ${g.workers} (trend ${g.serverMbPerMin} and ${g.workersMbPerMin} MB/min)`,
      );
      say(`goals: ${JSON.stringify(result.goals)}`);
    }
    console.log(JSON.stringify(result));
  } finally {
    await svc.close();
    await rm(dir, { recursive: true, force: true });
  }
}
