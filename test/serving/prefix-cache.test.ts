// The prefix cache keyed by adapter, and chunked prefill: a shared system prompt served from cached blocks
// gives the outputs of the same request served alone without any cache (under the base, T-Few and LoRA);
// different adapters (and a name re-activated with other weights) never share blocks; LRU eviction within
// the byte budget; a long prompt prefilled in chunks between decode steps gives its unchunked outputs.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Adapter } from "../../src/adapters/adapter.ts";
import { Rng } from "../../src/engine/index.ts";
import { type LoadedModel, loadModel } from "../../src/models/index.ts";
import { HostingEngine, type HostingEngineInit } from "../../src/serving/hosting/hosting-engine.ts";
import type { HostedGeneration } from "../../src/serving/hosting/hosted-request.ts";
import { PrefixCache } from "../../src/serving/hosting/prefix-cache.ts";
import { RowKv } from "../../src/serving/hosting/row-kv.ts";
import type { Generation } from "../../src/serving/sequence.ts";
import { FIXTURES, Reference, randomIa3, randomLora, createEngine } from "./hosting-helpers.ts";

let model: LoadedModel;
let ref: Reference;
let adapters: Record<string, Adapter>;
before(async () => {
  model = await loadModel(`${FIXTURES}/tiny-llama`);
  ref = new Reference(model);
  adapters = { ia3: randomIa3(model.config, 21), ia3b: randomIa3(model.config, 22), lora: randomLora(model.config, 23, 2) };
});
after(() => ref.dispose());

const greedy = (n: number) => ({ temperature: 0, maxTokens: n });

/** n random ids in [3, 320): tiny-llama's vocabulary, without BOS/EOS */
function tokens(n: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => 3 + rng.int(317));
}

async function withEngine(opts: Omit<HostingEngineInit, "model" | "modelDir">, body: (e: HostingEngine) => Promise<void>): Promise<void> {
  const engine = await createEngine({ model, threads: 1, lora: { rank: 4 }, ...opts } as HostingEngineInit);
  try {
    for (const [name, a] of Object.entries(adapters)) await engine.activate(name, a);
    await body(engine);
  } finally {
    await engine.close();
  }
}

function assertSame(got: Generation, want: Generation, what: string): void {
  assert.deepEqual(got.ids, want.ids, `${what}: tokens`);
  assert.equal(got.finishReason, want.finishReason, `${what}: finish reason`);
  got.logprobs.forEach((lp, k) => assert.ok(Math.abs(lp - want.logprobs[k]!) < 1e-4, `${what}: logprob ${k} ${lp} vs ${want.logprobs[k]}`));
}

describe("prefix cache", () => {
  const system = [1, ...tokens(31, 5)]; // 32 tokens: four blocks of 8

  test("a shared system prompt gives the same outputs with the cache as without, under base, T-Few and LoRA", async () => {
    const plan = [null, "ia3", "lora"].flatMap((adapter) =>
      [0, 1, 2].map((i) => ({ adapter, prompt: [...system, ...tokens(2 + i, 40 + i)] })),
    );
    const run = async (bytes: number) => {
      const out: HostedGeneration[] = [];
      let hits = 0;
      await withEngine({ prefixCache: { blockTokens: 8, bytes } }, async (engine) => {
        // one at a time, so each later request finds the blocks of the first of its adapter
        for (const q of plan) out.push(await engine.submit({ adapter: q.adapter, promptIds: q.prompt, sampling: greedy(8) }));
        hits = engine.stats().prefixCache?.hitTokens ?? 0;
      });
      return { out, hits };
    };
    const cached = await run(1 << 20);
    const plain = await run(0);
    assert.equal(cached.hits, 3 * 2 * 32, "the 2nd and 3rd request of each adapter skip the system prompt's four blocks");
    assert.equal(plain.hits, 0);
    for (const [i, q] of plan.entries()) {
      const want = await ref.alone(q.adapter === null ? null : adapters[q.adapter]!, q.prompt, greedy(8));
      assertSame(cached.out[i]!, want, `request ${i} (${q.adapter ?? "base"}) with the cache`);
      assertSame(plain.out[i]!, want, `request ${i} (${q.adapter ?? "base"}) without`);
    }
  });

  test("different adapters never share entries, nor a name re-activated with other weights", async () => {
    await withEngine({ prefixCache: { blockTokens: 8, bytes: 1 << 20 } }, async (engine) => {
      const p = [...system, 7, 8];
      const hits = () => engine.stats().prefixCache!.hitTokens;
      for (const name of [null, "ia3", "ia3b", "lora"]) {
        const got = await engine.submit({ adapter: name, promptIds: p, sampling: greedy(6) });
        assertSame(got, await ref.alone(name === null ? null : adapters[name]!, p, greedy(6)), `${name ?? "base"}`);
      }
      assert.equal(hits(), 0, "four models, four sets of blocks");
      assert.equal(engine.stats().prefixCache!.blocks, 4 * 4);
      await engine.submit({ adapter: "ia3", promptIds: p, sampling: greedy(6) });
      assert.equal(hits(), 32, "the same adapter again hits its own blocks");

      // 'ia3' re-activated with other vectors: the old blocks are dropped and never served
      await engine.deactivate("ia3");
      assert.equal(engine.stats().prefixCache!.blocks, 3 * 4, "a deactivated model's blocks are freed");
      const other = randomIa3(model.config, 99);
      await engine.activate("ia3", other);
      const got = await engine.submit({ adapter: "ia3", promptIds: p, sampling: greedy(6) });
      assert.equal(hits(), 32, "no hit for the new weights under the old name");
      assertSame(got, await ref.alone(other, p, greedy(6)), "re-activated ia3");
    });
  });

  test("LRU eviction within the byte budget; restored blocks are the inserted K/V", () => {
    const [L, KVH, D, bs] = [2, 2, 4, 4];
    const blockBytes = 2 * L * bs * KVH * D * 4;
    const cache = new PrefixCache(bs, 3 * blockBytes);
    const filled = (n: number, seed: number) => {
      const kv = new RowKv(L, KVH, D, n);
      for (let i = 0; i < kv.data.length; i++) kv.data[i] = seed + i;
      return kv;
    };
    const a = tokens(21, 1); // five whole blocks and one token
    const kvA = filled(a.length, 1000);
    cache.insert("m", a, kvA);
    assert.equal(cache.stats().blocks, 3, "the budget holds three blocks: the prompt's head");
    assert.ok(cache.stats().bytes <= 3 * blockBytes);

    const hit = cache.match("m", a);
    assert.equal(hit.length, 3);
    const into = new RowKv(L, KVH, D, a.length);
    assert.equal(cache.restore(hit, into), 12);
    for (let l = 0; l < L; l++)
      for (const kind of ["key", "value"] as const)
        assert.deepEqual(into.plane(kind, l, 12), kvA.plane(kind, l, 12), `restored ${kind}s of layer ${l}`);
    assert.equal(cache.match("other", a).length, 0, "another owner sees nothing");

    // a second prompt takes two blocks: the first prompt's tail goes first, its head stays matchable
    const b = tokens(9, 2);
    cache.insert("m", b, filled(b.length, 5000));
    const s = cache.stats();
    assert.equal(s.blocks, 3);
    assert.equal(s.evictedBlocks, 2);
    assert.equal(cache.match("m", a).length, 1, "the oldest prompt keeps its first block");
    assert.equal(cache.match("m", b).length, 2);
    cache.dropOwner("m");
    assert.equal(cache.stats().bytes, 0);
  });

  test("a prompt shorter than a block, or all cached, still computes its last token", () => {
    const cache = new PrefixCache(4, 1 << 20);
    const p = tokens(8, 3);
    cache.insert("m", p, new RowKv(1, 1, 2, p.length));
    assert.equal(cache.match("m", p).length, 1, "two cached blocks, but the last token must be computed");
    assert.equal(cache.match("m", p.slice(0, 3)).length, 0);
  });
});

describe("chunked prefill", () => {
  test("long prompts joining a running batch are prefilled in chunks between decode steps, outputs unchanged", async () => {
    await withEngine({ prefillChunkTokens: 4, maxBatchSize: 8, prefixCache: { bytes: 0 } }, async (engine) => {
      const short = [1, ...tokens(3, 8)];
      const longs = [
        { adapter: null, prompt: [1, ...tokens(29, 9)] },
        { adapter: "ia3", prompt: [1, ...tokens(22, 10)] },
        { adapter: "lora", prompt: [1, ...tokens(17, 11)] },
      ];
      let tokensSoFar = 0; // of the second short row, one per decode step
      let atSubmit = -1;
      let firstLong = -1;
      const later: Promise<HostedGeneration>[] = [];
      const submitLongs = () => {
        atSubmit = tokensSoFar;
        for (const [i, q] of longs.entries())
          later.push(
            engine.submit({
              adapter: q.adapter,
              promptIds: q.prompt,
              sampling: greedy(8),
              onToken: (u) => void (i === 0 && u.index === 0 && (firstLong = tokensSoFar)),
            }),
          );
      };
      const running = engine.submit({ promptIds: short, sampling: greedy(40), onToken: (t) => void (t.index === 1 && submitLongs()) });
      const counted = engine.submit({ promptIds: short, sampling: greedy(40), onToken: () => void tokensSoFar++ });
      const [g0, g1] = await Promise.all([running, counted]);
      assert.equal(later.length, longs.length, "the long prompts were submitted while the short rows decoded");
      const got = await Promise.all(later);
      // 29 + 22 + 17 prompt tokens in steps of at most 4 padded tokens: many decode steps ran in between
      // 30 tokens in chunks of 4: eight prefill steps, a decode step after each of the first seven
      assert.ok(firstLong - atSubmit >= 7, `the decoding rows kept stepping while the long prompt was prefilled (${firstLong - atSubmit})`);
      assertSame(g0, await ref.alone(null, short, greedy(40)), "the running row");
      assertSame(g1, await ref.alone(null, short, greedy(40)), "the counted row");
      for (const [i, q] of longs.entries())
        assertSame(got[i]!, await ref.alone(q.adapter === null ? null : adapters[q.adapter]!, q.prompt, greedy(8)), `long prompt ${i}`);
      const s = engine.stats();
      assert.equal(s.kvCache.stagingBytes, 0, "no staging buffer outlives its prefill");
    });
  });

  test("a prompt that ends at its first token never joins the batch: the running rows' cache keeps its size", async () => {
    await withEngine({ prefillChunkTokens: 8, maxBatchSize: 8, prefixCache: { bytes: 0 } }, async (engine) => {
      const short = [1, ...tokens(3, 13)];
      let before = -1;
      // the cache's size at every token of the rows and of the one-token request (streamed inside its prefill step)
      let grew = 0;
      const peek = () => void (grew = Math.max(grew, engine.stats().kvCache.allocatedBytes));
      let one = null as Promise<HostedGeneration> | null; // set in a callback: not narrowed to null
      const long = [1, ...tokens(49, 14)];
      const oneToken = { ...greedy(1), logitBias: { "2": -100 } }; // a token, never EOS (id 2)
      const bg = engine.submit({
        promptIds: short,
        sampling: greedy(20),
        onToken: (t) => {
          if (t.index !== 2) return;
          before = engine.stats().kvCache.allocatedBytes;
          one = engine.submit({ adapter: "lora", promptIds: long, sampling: oneToken, onToken: peek });
        },
      });
      const watch = engine.submit({ promptIds: short, sampling: greedy(20), onToken: peek });
      const [g0] = await Promise.all([bg, watch]);
      assert.ok(one, "the one-token request was submitted while the rows decoded");
      const got = await one!;
      assert.equal(got.ids.length, 1);
      assert.ok(before > 0);
      // the rows need 24 positions (a capacity of 32); the 50-token prompt would have grown every slot to 64
      assert.equal(grew, before, "the batch's cache did not grow for the one-token request");
      assertSame(got, await ref.alone(adapters.lora!, long, oneToken), "the one-token request");
      assertSame(g0, await ref.alone(null, short, greedy(20)), "the running row");
      assert.equal(engine.stats().kvCache.stagingBytes, 0);
    });
  });

  test("chunks after cached blocks: both together give the plain outputs", async () => {
    await withEngine({ prefillChunkTokens: 5, prefixCache: { blockTokens: 8, bytes: 1 << 20 } }, async (engine) => {
      const system = [1, ...tokens(23, 12)];
      const bg = engine.submit({ promptIds: [1, 5, 6], sampling: greedy(50) });
      const outs: HostedGeneration[] = [];
      const ps = [0, 1, 2].map((i) => [...system, ...tokens(9 + i, 60 + i)]);
      for (const p of ps) outs.push(await engine.submit({ adapter: "ia3", promptIds: p, sampling: greedy(6) }));
      await bg;
      assert.equal(engine.stats().prefixCache!.hitTokens, 2 * 24);
      for (const [i, p] of ps.entries()) assertSame(outs[i]!, await ref.alone(adapters.ia3!, p, greedy(6)), `request ${i}`);
    });
  });
});
