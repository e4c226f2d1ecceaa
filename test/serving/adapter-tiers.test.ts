// Adapter tiers: more active adapters than table rows. Adapters move hot (a row) → host memory → disk by
// recency; a request to a cold one waits for its load and gets exactly the tokens it gets hot; a row used
// by the running batch is never taken; pinned adapters keep their row; a load that fails fails only its
// requests; 50 mixed T-Few and LoRA (ranks 8-64) adapters run in one batch.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { Adapter } from "../../src/adapters/adapter.ts";
import { saveAdapter } from "../../src/adapters/peft-io.ts";
import { loadModel } from "../../src/models/index.ts";
import { HostingError } from "../../src/serving/hosting/errors.ts";
import { FIXTURES, Reference, prompts, randomIa3, randomLora, createEngine } from "./hosting-helpers.ts";

const greedy = (n: number) => ({ temperature: 0, maxTokens: n });
const tmp = mkdtempSync(join(tmpdir(), "sprig-tiers-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function saved(name: string, a: Adapter): Promise<string> {
  const dir = join(tmp, name);
  await saveAdapter(dir, a);
  return dir;
}

test("tiers: LRU to host memory and disk; a cold request waits for its load and gets the tokens it gets hot; busy rows stay", async () => {
  const model = await loadModel(`${FIXTURES}/tiny-llama`);
  const cfg = model.config;
  const A = Array.from({ length: 5 }, (_, i) => randomIa3(cfg, 40 + i));
  const dirs = await Promise.all(A.map((a, i) => saved(`t${i}`, a)));
  const ref = new Reference(model);
  // 2 rows; host memory for one T-Few adapter (768 bytes on tiny-llama): the rest waits on disk
  const engine = await createEngine({ model, maxBatchSize: 8, maxAdapters: 2, adapterHostBytes: 768, threads: 1 });
  const tier = (n: string) => engine.stats().models.find((m) => m.name === n)!.tier;
  try {
    const act = [];
    for (let i = 0; i < 5; i++) act.push(await engine.activate(`t${i}`, dirs[i]!));
    assert.deepEqual(
      act.map((a) => [a.tier, a.bytes]),
      [
        ["hot", 768],
        ["hot", 768],
        ["host", 768],
        ["host", 768],
        ["host", 768],
      ],
    );
    // each newcomer to host memory pushed the least recently used one to disk
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((i) => tier(`t${i}`)),
      ["hot", "hot", "disk", "disk", "host"],
    );
    let s = engine.stats().tiers;
    assert.deepEqual([s.hot, s.host, s.disk, s.hostBytes, s.loads, s.evictions.host], [2, 1, 2, 768, 0, 2]);

    const [p] = prompts(cfg, 1, 7);
    const want = await Promise.all(A.map((a) => ref.alone(a, p!, greedy(8))));
    // t2 is on disk: read back, it takes the row of the least recently used idle adapter (t0, to host, which
    // pushes t0 itself to disk as the oldest there)
    assert.deepEqual((await engine.submit({ adapter: "t2", promptIds: p!, sampling: greedy(8) })).ids, want[2]!.ids);
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((i) => tier(`t${i}`)),
      ["disk", "hot", "hot", "disk", "host"],
    );
    s = engine.stats().tiers;
    assert.deepEqual([s.loads, s.promotions, s.evictions.hot], [1, 1, 1]);
    // hot again: the same tokens
    assert.deepEqual((await engine.submit({ adapter: "t2", promptIds: p!, sampling: greedy(8) })).ids, want[2]!.ids);

    // all five at once over two rows: every token is made on a hot row that nobody takes mid-request
    const notHot: string[] = [];
    const outs = await Promise.all(
      A.map((_, i) =>
        engine.submit({
          adapter: `t${i}`,
          promptIds: p!,
          sampling: greedy(8),
          onToken: (t) => {
            if (tier(`t${i}`) !== "hot") notHot.push(`t${i}@${t.index}`);
          },
        }),
      ),
    );
    assert.deepEqual(notHot, [], "a row used by the running batch is never evicted");
    assert.deepEqual(
      outs.map((o) => o.ids),
      want.map((w) => w.ids),
    );
    s = engine.stats().tiers;
    assert.ok(s.loads >= 3 && s.evictions.hot >= 3, `cold adapters were read back: ${JSON.stringify(s)}`);
    assert.equal(s.hot + s.host + s.disk, 5, "every adapter stays active whatever its tier");
    assert.equal(engine.stats().totals.failed, 0);
  } finally {
    await engine.close();
    await ref.dispose();
  }
});

test("tiers: a pinned adapter keeps its row however cold; LoRA of mixed ranks through two rows and disk", async () => {
  const model = await loadModel(`${FIXTURES}/tiny-llama`);
  const cfg = model.config;
  const ranks = [8, 16, 24, 32, 48, 64];
  const L = ranks.map((r, i) => randomLora(cfg, 60 + i, r));
  const dirs = await Promise.all(L.map((a, i) => saved(`l${i}`, a)));
  const pinned = randomLora(cfg, 70, 16);
  const ref = new Reference(model);
  // 3 LoRA rows, one pinned; host memory 0: every adapter without a row is on disk
  const engine = await createEngine({ model, maxBatchSize: 4, lora: { maxAdapters: 3 }, adapterHostBytes: 0, threads: 1 });
  try {
    assert.equal((await engine.activate("pin", pinned, { pin: true })).tier, "hot");
    for (let i = 0; i < L.length; i++) await engine.activate(`l${i}`, dirs[i]!);
    const ps = prompts(cfg, L.length, 9);
    const want = await Promise.all(L.map((a, i) => ref.alone(a, ps[i]!, greedy(6))));
    for (let round = 0; round < 2; round++) {
      const outs = await Promise.all(L.map((_, i) => engine.submit({ adapter: `l${i}`, promptIds: ps[i]!, sampling: greedy(6) })));
      assert.deepEqual(
        outs.map((o) => o.ids),
        want.map((w) => w.ids),
        `round ${round}`,
      );
    }
    const s = engine.stats();
    assert.equal(s.models.find((m) => m.name === "pin")!.tier, "hot", "the pinned adapter, never requested, kept its row");
    assert.ok(s.tiers.evictions.hot >= L.length, JSON.stringify(s.tiers));
    assert.deepEqual([s.tiers.pinned, s.tiers.hot, s.tiers.host, s.tiers.disk], [1, 3, 0, L.length - 2]);
    assert.deepEqual(
      (await engine.submit({ adapter: "pin", promptIds: ps[0]!, sampling: greedy(6) })).ids,
      (await ref.alone(pinned, ps[0]!, greedy(6))).ids,
    );
    // embeddings through a cold adapter wait for its row like a request, and equal its embedding hot
    const cold = s.models.find((m) => m.tier === "disk")!.name;
    const e1 = await engine.embed({ adapter: cold, inputs: [ps[1]!] });
    const e2 = await engine.embed({ adapter: cold, inputs: [ps[1]!] });
    assert.deepEqual([...e1.embeddings[0]!], [...e2.embeddings[0]!]);
  } finally {
    await engine.close();
    await ref.dispose();
  }
});

test("tiers: an adapter whose directory vanished fails only its own requests, with the reason", async () => {
  const model = await loadModel(`${FIXTURES}/tiny-llama`);
  const cfg = model.config;
  const engine = await createEngine({ model, maxAdapters: 1, adapterHostBytes: 0, threads: 1 });
  try {
    await engine.activate("a", randomIa3(cfg, 1));
    const dir = await saved("gone", randomIa3(cfg, 2));
    assert.equal((await engine.activate("gone", dir)).tier, "disk");
    rmSync(dir, { recursive: true });
    await assert.rejects(engine.submit({ adapter: "gone", promptIds: [1, 5], sampling: greedy(3) }), (e: unknown) => {
      assert.ok(e instanceof HostingError && e.status === 500, String(e));
      assert.match((e as Error).message, /adapter 'gone' is active but could not be read back from .*gone/);
      return true;
    });
    assert.equal((await engine.submit({ adapter: "a", promptIds: [1, 5], sampling: greedy(3) })).ids.length, 3);
  } finally {
    await engine.close();
  }
});

test("50 endpoints' adapters — T-Few and LoRA of ranks 8 to 64 — run in one batch, each as alone", async () => {
  const model = await loadModel(`${FIXTURES}/tiny-llama`);
  const cfg = model.config;
  const ranks = [8, 16, 32, 64, 12, 48];
  const A = Array.from({ length: 50 }, (_, i) => (i % 2 ? randomLora(cfg, 100 + i, ranks[i % ranks.length]!) : randomIa3(cfg, 100 + i)));
  const engine = await createEngine({ model, maxBatchSize: 64, threads: 1 });
  const ref = new Reference(model);
  try {
    for (let i = 0; i < A.length; i++) await engine.activate(`m${i}`, A[i]!);
    const ps = prompts(cfg, A.length, 11);
    let widest = 0;
    const outs = await Promise.all(
      A.map((_, i) =>
        engine.submit({
          adapter: `m${i}`,
          promptIds: ps[i]!,
          sampling: greedy(5),
          onToken: () => (widest = Math.max(widest, engine.stats().batch.running)),
        }),
      ),
    );
    assert.equal(widest, 50, "all 50 rows were in the batch at once");
    for (let i = 0; i < A.length; i++) assert.deepEqual(outs[i]!.ids, (await ref.alone(A[i]!, ps[i]!, greedy(5))).ids, `m${i}`);
    const s = engine.stats();
    assert.deepEqual([s.tables.ia3.used, s.tables.lora.used, s.tiers.hot], [25, 25, 50]);
  } finally {
    await engine.close();
    await ref.dispose();
  }
});
