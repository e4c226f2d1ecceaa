// Admission control of the hosting engine: queue then reject when over capacity (typed 429/503),
// cancellation frees the batch slot for the next request, KV memory bounds the batch, and round-robin
// admission across per-model queues keeps a flood on one adapter from starving another.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type LoadedModel, loadModel } from "../../src/models/index.ts";
import { CancelledError, OverCapacityError } from "../../src/serving/hosting/errors.ts";
import { HostingEngine, type HostingEngineInit } from "../../src/serving/hosting/hosting-engine.ts";
import type { HostedGeneration } from "../../src/serving/hosting/hosted-request.ts";
import { FIXTURES, Reference, prompts, randomIa3, KV_COPIES, createEngine } from "./hosting-helpers.ts";

let model: LoadedModel;
let ref: Reference;
before(async () => {
  model = await loadModel(`${FIXTURES}/tiny-llama`);
  ref = new Reference(model);
});
after(() => ref.dispose());

const greedy = (n: number) => ({ temperature: 0, maxTokens: n });

async function withEngine(opts: Omit<HostingEngineInit, "model" | "modelDir">, body: (e: HostingEngine) => Promise<void>): Promise<void> {
  const engine = await createEngine({ model, threads: 1, ...opts } as HostingEngineInit);
  try {
    await body(engine);
  } finally {
    await engine.close();
  }
}

/** submit and keep the promise settled-safe for later inspection */
function settle<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

test("over capacity: per-model queue full → 429, whole queue full → 503; the queued still finish", async () => {
  const isOver = (status: number, reason: string) => (e: unknown) => {
    assert.ok(e instanceof OverCapacityError, String(e));
    assert.equal(e.status, status);
    assert.equal(e.reason, reason);
    assert.match(e.message, /^over capacity: /);
    return true;
  };
  await withEngine({ maxBatchSize: 1, maxQueue: 2, maxQueuePerModel: 1 }, async (engine) => {
    await engine.activate("a", randomIa3(model.config, 1));
    const [p0, p1, p2, p3] = prompts(model.config, 4, 2);
    // submitted without awaiting in between, so that the first request is still running throughout
    const running = settle(engine.submit({ promptIds: p0!, sampling: greedy(5) }));
    const queued = settle(engine.submit({ promptIds: p1!, sampling: greedy(5) }));
    const baseFull = settle(engine.submit({ promptIds: p2!, sampling: greedy(5) }));
    const other = settle(engine.submit({ adapter: "a", promptIds: p2!, sampling: greedy(5) }));
    const aFull = settle(engine.submit({ adapter: "a", promptIds: p3!, sampling: greedy(5) }));
    const queueLength = engine.stats().queue.length;
    await assert.rejects(baseFull, isOver(429, "model_queue_full"));
    await assert.rejects(aFull, isOver(429, "model_queue_full"));
    assert.equal(queueLength, 2);
    assert.equal(engine.stats().totals.rejected, 2);
    const outs = await Promise.all([running, queued, other]);
    assert.deepEqual(outs[1]!.ids, (await ref.alone(null, p1!, greedy(5))).ids);
    assert.ok(outs[1]!.timings.queuedMs >= outs[0]!.timings.queuedMs, "the queued one waited");
  });
  await withEngine({ maxBatchSize: 1, maxQueue: 1, maxQueuePerModel: 5 }, async (engine) => {
    const [p0, p1, p2] = prompts(model.config, 3, 3);
    const a = settle(engine.submit({ promptIds: p0!, sampling: greedy(4) }));
    const b = settle(engine.submit({ promptIds: p1!, sampling: greedy(4) }));
    const c = settle(engine.submit({ promptIds: p2!, sampling: greedy(4) }));
    await assert.rejects(c, isOver(503, "queue_full"));
    await Promise.all([a, b]);
  });
});

test("cancellation (AbortSignal) frees the slot at once for the next request; queued ones leave the queue", async () => {
  await withEngine({ maxBatchSize: 1 }, async (engine) => {
    const [p0, p1, p2] = prompts(model.config, 3, 5);
    const ac = new AbortController();
    let seen = 0;
    const long = settle(
      engine.submit({
        promptIds: p0!,
        sampling: greedy(50),
        signal: ac.signal,
        onToken: (t) => {
          seen = t.index + 1;
          if (t.index === 2) ac.abort();
        },
      }),
    );
    const ac2 = new AbortController();
    const dropped = settle(engine.submit({ promptIds: p2!, sampling: greedy(5), signal: ac2.signal }));
    const next = engine.submit({ promptIds: p1!, sampling: greedy(6) });
    assert.equal(engine.stats().queue.length, 2);
    ac2.abort();
    assert.equal(engine.stats().queue.length, 1, "an aborted queued request leaves the queue at once");
    await assert.rejects(dropped, (e: unknown) => e instanceof CancelledError && e.reason === "cancelled");
    await assert.rejects(long, (e: unknown) => e instanceof CancelledError && e.status === 499);
    const out = await next;
    assert.equal(seen, 3, "no token is streamed after the abort");
    assert.deepEqual(out.ids, (await ref.alone(null, p1!, greedy(6))).ids, "the next request runs in the freed slot, unharmed");
    const s = engine.stats();
    assert.equal(s.totals.cancelled, 2);
    assert.equal(s.batch.running, 0);
  });
});

test("KV memory bounds the batch: requests wait for memory, then run", async () => {
  // room for one request of ≤ 32 positions at width 1, not for two (width 2)
  const bytesPerToken = 2 * model.config.numLayers * model.config.numKvHeads * model.config.headDim * 4 * KV_COPIES;
  await withEngine({ maxBatchSize: 8, kvCacheBytes: 32 * bytesPerToken }, async (engine) => {
    const [p0, p1] = prompts(model.config, 2, 6);
    const queuedWhileFirstRuns: number[] = [];
    const a = engine.submit({ promptIds: p0!, sampling: greedy(8), onToken: () => queuedWhileFirstRuns.push(engine.stats().queue.length) });
    const b = engine.submit({ promptIds: p1!, sampling: greedy(8) });
    const [ga, gb] = await Promise.all([a, b]);
    assert.ok(queuedWhileFirstRuns.length > 0 && queuedWhileFirstRuns.every((q) => q === 1), "the second waited for memory");
    assert.deepEqual(gb.ids, (await ref.alone(null, p1!, greedy(8))).ids);
    assert.ok(ga.ids.length > 0);
    await assert.rejects(
      engine.submit({ promptIds: p0!, sampling: greedy(40) }),
      /need \d+ bytes of KV cache; the engine's kvCacheBytes is/,
    );
  });
});

test("fairness: a flood on one adapter does not delay another's first token beyond one round", async () => {
  await withEngine({ maxBatchSize: 1 }, async (engine) => {
    for (const n of ["flood1", "flood2", "quiet"]) await engine.activate(n, randomIa3(model.config, n.length));
    const ps = prompts(model.config, 12, 9);
    const order: string[] = [];
    const track = (name: string, i: number) => (t: { index: number }) => void (t.index === 0 && order.push(`${name}#${i}`));
    const all: Promise<HostedGeneration>[] = [];
    for (let i = 0; i < 5; i++) {
      all.push(engine.submit({ adapter: "flood1", promptIds: ps[i]!, sampling: greedy(3), onToken: track("flood1", i) }));
      all.push(engine.submit({ adapter: "flood2", promptIds: ps[i + 5]!, sampling: greedy(3), onToken: track("flood2", i) }));
    }
    all.push(engine.submit({ adapter: "quiet", promptIds: ps[10]!, sampling: greedy(3), onToken: track("quiet", 0) }));
    await Promise.all(all);
    const at = order.indexOf("quiet#0");
    // one slot: flood1#0 runs; then one round over the queues — at most one request of each other queue first
    assert.ok(at >= 0 && at <= 3, `quiet started at ${at} of ${order.join(" ")}`);
    // and within each flood, FIFO order holds
    for (const f of ["flood1", "flood2"]) {
      const mine = order.filter((x) => x.startsWith(f));
      assert.deepEqual(mine, [...mine].sort(), `${f} in order`);
    }
  });
});
