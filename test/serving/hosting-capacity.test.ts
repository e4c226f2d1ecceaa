// The one capacity model: what an engine with given options can hold (LoRA ranks and modules, pinned
// adapters per kind's rows, full models, weight memory with adapter tiers) — the same refusals the engine
// makes on activation; adapters beyond the table rows are accepted (they wait in colder tiers).

import assert from "node:assert/strict";
import { test } from "node:test";
import { createIa3 } from "../../src/adapters/ia3.ts";
import { loadModel } from "../../src/models/index.ts";
import { type HeldModel, capacityProblems, modelBytes } from "../../src/serving/hosting/hosting-capacity.ts";
import { FIXTURES, randomLora, createEngine } from "./hosting-helpers.ts";

test("capacity: counts, ranks, modules and memory are refused with their reason; what fits passes", async () => {
  const model = await loadModel(`${FIXTURES}/tiny-llama`);
  const cfg = model.config;
  const lora = (r: number, t?: string[]): HeldModel => ({ kind: "adapter", config: randomLora(cfg, 1, r, t).config });
  const ia3: HeldModel = { kind: "adapter", config: createIa3(cfg).config };
  const fits = [{ kind: "base" }, ia3, lora(1), lora(64), { kind: "full" }] as HeldModel[];
  assert.deepEqual(capacityProblems(cfg, {}, fits), []);

  const msgs = (opts: object, models: HeldModel[], budget?: number) =>
    capacityProblems(cfg, opts, models, budget).map((p) => `${p.scope}: ${p.message}`);
  assert.deepEqual(msgs({}, [lora(65)]), ["model: rank 65 exceeds this engine's LoRA rank 64"]);
  assert.match(msgs({}, [lora(8, ["o_proj"])]).join(), /model: .*o_proj is not a LoRA target/);
  // adapters beyond the table rows live in host memory or on disk: no limit; pinned ones need rows
  assert.deepEqual(msgs({ lora: { maxAdapters: 2 }, maxAdapters: 1 }, [lora(8), lora(8), lora(16), ia3, ia3, ia3]), []);
  const pin = (m: HeldModel): HeldModel => ({ ...m, pinned: true }) as HeldModel;
  assert.deepEqual(msgs({ lora: { maxAdapters: 2 } }, [pin(lora(8)), pin(lora(8)), pin(lora(16)), lora(8)]), [
    "capacity: 3 pinned LoRA adapters, but a unit has 2 table rows to pin them in",
  ]);
  assert.deepEqual(msgs({}, [{ kind: "full" }, { kind: "full" }, { kind: "full" }]), [
    "capacity: 3 full custom models (each a whole copy of the weights), but a unit holds at most 2",
  ]);
  assert.deepEqual(msgs({ maxAdapters: 0 }, [ia3]), ["model: this engine hosts no T-Few adapters (IA3: maxAdapters is 0)"]);

  // memory: the base plus a full copy exceed a budget of 1.5 bases; a rank-64 LoRA costs its bucket's bytes
  const b = modelBytes(cfg);
  assert.deepEqual(msgs({}, [], 1.5 * b), []);
  assert.match(msgs({}, [{ kind: "full" }], 1.5 * b).join(), /capacity: the base, full models and adapters need .* MiB of weights/);

  // the engine agrees on a LoRA adapter's bytes
  const engine = await createEngine({ model, threads: 1 });
  try {
    const a = await engine.activate("r64", randomLora(cfg, 2, 64));
    assert.equal(capacityProblems(cfg, {}, [lora(64)], b + a.bytes).length, 0);
    assert.equal(capacityProblems(cfg, {}, [lora(64)], b + a.bytes - 1).length, 1);
    // with tiers: the adapters that fill the rows, plus the rest up to the host tier's budget
    const five = Array.from({ length: 5 }, () => lora(64));
    const fits = (opts: object, budget: number) => capacityProblems(cfg, opts, five, budget).length === 0;
    const rows2 = { lora: { maxAdapters: 2 } };
    assert.ok(fits({ ...rows2, adapterHostBytes: 0 }, b + 2 * a.bytes) && !fits({ ...rows2, adapterHostBytes: 0 }, b + 2 * a.bytes - 1));
    assert.ok(
      fits({ ...rows2, adapterHostBytes: a.bytes }, b + 3 * a.bytes) && !fits({ ...rows2, adapterHostBytes: a.bytes }, b + 3 * a.bytes - 1),
    );
    assert.ok(fits(rows2, b + 5 * a.bytes) && !fits(rows2, b + 5 * a.bytes - 1));
  } finally {
    await engine.close();
  }
});
