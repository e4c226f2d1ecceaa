// Activating and deactivating adapters while the engine serves: other adapters' outputs stay exact,
// in-flight requests of a deactivated adapter finish (or are cancelled, by option), new ones are
// refused, rows are recycled, and a name can be re-activated at once with another adapter.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { Adapter } from "../../src/adapters/adapter.ts";
import { loadModel } from "../../src/models/index.ts";
import { CancelledError, UnknownModelError } from "../../src/serving/hosting/errors.ts";
import type { HostedGeneration } from "../../src/serving/hosting/hosted-request.ts";
import { FIXTURES, Reference, prompts, randomIa3, randomLora, createEngine } from "./hosting-helpers.ts";

const greedy = (n: number) => ({ temperature: 0, maxTokens: n });

test("activating and deactivating under load never changes another adapter's output", async () => {
  const model = await loadModel(`${FIXTURES}/tiny-llama`);
  const cfg = model.config;
  const A: Record<string, Adapter> = { x: randomIa3(cfg, 1), z: randomIa3(cfg, 2), y: randomIa3(cfg, 3), l: randomLora(cfg, 4, 2) };
  const engine = await createEngine({ model, maxBatchSize: 4, maxAdapters: 2, threads: 1 });
  const ref = new Reference(model);
  try {
    for (const n of ["x", "z", "l"]) await engine.activate(n, A[n]!);
    const ps = prompts(cfg, 12, 21);
    const jobs: Array<{ adapter: string | null; p: number[]; n: number; out: Promise<HostedGeneration> }> = [];
    const submit = (adapter: string | null, p: number[], n: number) => {
      const out = engine.submit({ adapter, promptIds: p, sampling: greedy(n) });
      out.catch(() => {}); // inspected below with allSettled
      jobs.push({ adapter, p, n, out });
    };
    const events: Promise<unknown>[] = [];
    let refusedL: unknown = null;
    const first = engine.submit({
      adapter: "x",
      promptIds: ps[0]!,
      sampling: greedy(12),
      onToken: (t) => {
        if (t.index === 2) {
          // z has no requests: its row is freed at once; with maxAdapters 2, y can only take z's row
          events.push(
            engine
              .deactivate("z")
              .then(() => engine.activate("y", A.y!))
              .then(() => submit("y", ps[9]!, 9)),
          );
        }
        if (t.index === 4) {
          events.push(engine.deactivate("l")); // its requests in flight finish
          try {
            submit("l", ps[10]!, 3);
          } catch (e) {
            refusedL = e;
          }
        }
      },
    });
    for (let i = 1; i < 8; i++) submit([null, "x", "l"][i % 3]!, ps[i]!, 6 + i);
    const firstOut = await first;
    await Promise.all(events);
    // a refusal surfaces as a rejected promise from submit(): find it
    const results = await Promise.allSettled(jobs.map((j) => j.out));
    assert.equal(refusedL, null, "submit reports refusals through its promise");
    const refused = results.findIndex((r, i) => r.status === "rejected" && jobs[i]!.adapter === "l");
    assert.ok(refused >= 0, "a request for a deactivated adapter is refused");
    const why = (results[refused] as PromiseRejectedResult).reason;
    assert.ok(why instanceof UnknownModelError && why.status === 404, `refused with 404: ${why}`);

    assert.deepEqual(firstOut.ids, (await ref.alone(A.x!, ps[0]!, greedy(12))).ids, "x while others change");
    for (const [i, j] of jobs.entries()) {
      if (i === refused) continue;
      const r = results[i]!;
      assert.equal(r.status, "fulfilled", `job ${i} (${j.adapter ?? "base"}) served`);
      const want = await ref.alone(j.adapter === null ? null : A[j.adapter]!, j.p, greedy(j.n));
      assert.deepEqual((r as PromiseFulfilledResult<HostedGeneration>).value.ids, want.ids, `job ${i} (${j.adapter ?? "base"})`);
    }
    assert.ok(
      jobs.some((j) => j.adapter === "y"),
      "y served requests after taking z's row",
    );
    const s = engine.stats();
    assert.deepEqual(s.models.map((m) => m.name).sort(), ["x", "y"]);
    assert.equal(s.tables.ia3.used, 2);
    assert.equal(s.tables.lora.used, 0, "l's row was freed once its requests finished");
  } finally {
    await engine.close();
    await ref.dispose();
  }
});

test("deactivate with cancelInFlight cancels its requests cleanly; a name can be re-activated at once", async () => {
  const model = await loadModel(`${FIXTURES}/tiny-llama`);
  const cfg = model.config;
  const old = randomIa3(cfg, 8);
  const fresh = randomIa3(cfg, 9);
  const engine = await createEngine({ model, maxBatchSize: 2, threads: 1 });
  const ref = new Reference(model);
  try {
    await engine.activate("c", old);
    const [p0, p1, p2] = prompts(cfg, 3, 4);
    let deactivated: Promise<void> | null = null;
    const a = engine.submit({
      adapter: "c",
      promptIds: p0!,
      sampling: greedy(40),
      onToken: (t) => {
        if (t.index === 1) deactivated = engine.deactivate("c", { cancelInFlight: true });
      },
    });
    const b = engine.submit({ adapter: "c", promptIds: p1!, sampling: greedy(40) });
    const queued = engine.submit({ adapter: "c", promptIds: p2!, sampling: greedy(40) });
    for (const r of await Promise.allSettled([a, b, queued])) {
      assert.equal(r.status, "rejected");
      const e = (r as PromiseRejectedResult).reason;
      assert.ok(e instanceof CancelledError && e.reason === "model_deactivated", String(e));
    }
    await deactivated;
    assert.equal(engine.stats().tables.ia3.used, 0);
    assert.equal(engine.stats().totals.cancelled, 3);

    // drain without cancelling, and re-activate the name with another adapter meanwhile
    await engine.activate("c", old);
    const swaps: Promise<unknown>[] = [];
    const inFlight = engine.submit({
      adapter: "c",
      promptIds: p0!,
      sampling: greedy(10),
      onToken: (t) => {
        if (t.index === 1) swaps.push(engine.deactivate("c"), engine.activate("c", fresh));
      },
    });
    const oldOut = await inFlight;
    assert.equal(swaps.length, 2);
    await Promise.all(swaps);
    const newOut = await engine.submit({ adapter: "c", promptIds: p0!, sampling: greedy(10) });
    assert.deepEqual(oldOut.ids, (await ref.alone(old, p0!, greedy(10))).ids, "the request in flight finished on the old adapter");
    assert.deepEqual(newOut.ids, (await ref.alone(fresh, p0!, greedy(10))).ids, "new requests use the re-activated adapter");
    assert.notDeepEqual(oldOut.ids, newOut.ids);

    // an adapter is servable as soon as activate() returns, before its promise is awaited
    const activated = engine.activate("now", fresh);
    const immediate = engine.submit({ adapter: "now", promptIds: p1!, sampling: greedy(6) });
    assert.equal((await activated).kind, "ia3");
    assert.deepEqual((await immediate).ids, (await ref.alone(fresh, p1!, greedy(6))).ids);
  } finally {
    await engine.close();
    await ref.dispose();
  }
});
