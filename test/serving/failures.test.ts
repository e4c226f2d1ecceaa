// A model step that throws (prefill or decode) fails exactly the requests of that session with a 500
// HostingError — none is left hanging — and the engine keeps serving; a draining adapter still drains.

import assert from "node:assert/strict";
import { test } from "node:test";
import { loadModel } from "../../src/models/index.ts";
import { HostingError } from "../../src/serving/hosting/errors.ts";
import { HostingEngine } from "../../src/serving/hosting/hosting-engine.ts";
import type { ModelRunner } from "../../src/serving/model-runner.ts";
import { FIXTURES, Reference, prompts, randomIa3, createEngine } from "./hosting-helpers.ts";

/** Fault injection: the base session's runner (the engine does not expose it). */
const runnerOf = (e: HostingEngine) => (e as unknown as { base: { lane: { runner: ModelRunner } } }).base.lane.runner;

for (const failing of ["prefill", "decode"] as const) {
  test(`a failing ${failing} step fails its session's requests with 500 and the engine recovers`, async () => {
    const model = await loadModel(`${FIXTURES}/tiny-llama`);
    const engine = await createEngine({ model, maxBatchSize: 4, threads: 1 });
    const ref = new Reference(model);
    try {
      const adapter = randomIa3(model.config, 3);
      await engine.activate("a", adapter);
      const runner = runnerOf(engine);
      const forward = runner.forward.bind(runner);
      let calls = 0;
      runner.forward = (...args) => {
        calls++;
        // the first call is the batched prefill, the second the first decode step
        if (calls === (failing === "prefill" ? 1 : 2)) throw new Error("injected fault");
        return forward(...args);
      };
      const ps = prompts(model.config, 3, 8);
      const doomed = [
        engine.submit({ promptIds: ps[0]!, sampling: { temperature: 0, maxTokens: 8 } }),
        engine.submit({ adapter: "a", promptIds: ps[1]!, sampling: { temperature: 0, maxTokens: 8 } }),
      ];
      for (const r of await Promise.allSettled(doomed)) {
        assert.equal(r.status, "rejected");
        const e = (r as PromiseRejectedResult).reason;
        assert.ok(e instanceof HostingError && e.status === 500 && e.reason === "internal", String(e));
        assert.match(e.message, /injected fault/);
      }
      const after = await engine.submit({ adapter: "a", promptIds: ps[2]!, sampling: { temperature: 0, maxTokens: 8 } });
      assert.deepEqual(after.ids, (await ref.alone(adapter, ps[2]!, { temperature: 0, maxTokens: 8 })).ids);
      const s = engine.stats();
      assert.equal(s.totals.failed, 2);
      assert.equal(s.batch.running + s.batch.pending, 0);
      await engine.deactivate("a"); // resolves only if no failed request is still counted in flight
      assert.equal(engine.stats().tables.ia3.used, 0);
    } finally {
      await engine.close();
      await ref.dispose();
    }
  });
}
