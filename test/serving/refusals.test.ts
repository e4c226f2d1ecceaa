// What the engine refuses, with typed errors: adapters and models of another base (other shapes, or
// the same shapes with another base fingerprint in sprig_adapter.json), adapters the tables cannot
// hold, bad names and duplicates, malformed requests, and bad options.

import assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { baseFingerprint } from "../../src/adapters/fingerprint.ts";
import { createIa3 } from "../../src/adapters/ia3.ts";
import { type LoadedModel, loadModel } from "../../src/models/index.ts";
import {
  AdapterMismatchError,
  ConflictError,
  HostingError,
  InvalidRequestError,
  OverCapacityError,
  UnknownModelError,
} from "../../src/serving/hosting/errors.ts";
import { HostingEngine } from "../../src/serving/hosting/hosting-engine.ts";
import { FIXTURES, GOLDEN_ADAPTERS, randomIa3, randomLora, createEngine } from "./hosting-helpers.ts";

let model: LoadedModel;
let engine: HostingEngine;
const tmp = mkdtempSync(join(tmpdir(), "sprig-host-refusals-"));

before(async () => {
  model = await loadModel(`${FIXTURES}/tiny-llama`);
  engine = await createEngine({ model, maxBatchSize: 2, maxAdapters: 2, lora: { maxAdapters: 1, rank: 4 }, threads: 1 });
});
after(async () => {
  await engine.close();
  rmSync(tmp, { recursive: true, force: true });
});

async function refused<E extends HostingError>(
  p: Promise<unknown>,
  type: new (...a: never[]) => E,
  status: number,
  pattern: RegExp,
): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof type, `expected ${type.name}, got ${e}`);
    assert.equal((e as HostingError).status, status);
    assert.match((e as Error).message, pattern);
    return true;
  });
}

test("adapters and models of another base are refused (422)", async () => {
  // GPT-2 targets and shapes do not exist on a Llama base
  await refused(engine.activate("g", `${GOLDEN_ADAPTERS}/tiny-gpt2-ia3/adapter`), AdapterMismatchError, 422, /another base/);
  // a Llama-3 fixture has another head size: its vectors do not fit
  const llama3 = await loadModel(`${FIXTURES}/tiny-llama3`);
  await refused(engine.activate("l3", createIa3(llama3.config)), AdapterMismatchError, 422, /another base/);
  await refused(engine.activate("l3-full", llama3), AdapterMismatchError, 422, /not derived from this engine's base/);
  await refused(engine.activate("l3-dir", `${FIXTURES}/tiny-llama3`), AdapterMismatchError, 422, /headDim/);
  // same shapes (tiny-qwen2's adapter fits tiny-llama) but sprig_adapter.json names another base
  const qwen = await loadModel(`${FIXTURES}/tiny-qwen2`);
  const dir = join(tmp, "qwen-ia3");
  cpSync(`${GOLDEN_ADAPTERS}/tiny-qwen2-ia3/adapter`, dir, { recursive: true });
  writeFileSync(join(dir, "sprig_adapter.json"), JSON.stringify({ baseFingerprint: baseFingerprint(qwen.config, qwen.weights) }));
  await refused(engine.activate("q", dir), AdapterMismatchError, 422, /made from another base model/);
  // with this base's fingerprint the same files are accepted
  writeFileSync(join(dir, "sprig_adapter.json"), JSON.stringify({ baseFingerprint: engine.fingerprint }));
  const ok = await engine.activate("q", dir);
  assert.equal(ok.kind, "ia3");
  await engine.deactivate("q");
  assert.equal(engine.stats().tables.ia3.used, 0, "refused activations leave no rows behind");
});

test("adapters the tables cannot hold are refused", async () => {
  const cfg = model.config;
  await refused(engine.activate("r8", randomLora(cfg, 1, 8)), AdapterMismatchError, 422, /rank 8 exceeds this engine's LoRA rank 4/);
  await refused(engine.activate("lo-o", randomLora(cfg, 1, 2, ["o_proj"])), AdapterMismatchError, 422, /o_proj is not a LoRA target/);
  await engine.activate("lo", randomLora(cfg, 2, 2));
  // beyond the table rows an adapter is active in host memory; pinning needs rows, and leaves one to the unpinned
  assert.equal((await engine.activate("lo2", randomLora(cfg, 3, 2))).tier, "host");
  await refused(
    engine.activate("lo3", randomLora(cfg, 4, 2), { pin: true }),
    OverCapacityError,
    409,
    /pinning this adapter would take the last of the 1 LoRA table rows, and the 2 unpinned ones could never be served/,
  );
  await engine.activate("a", randomIa3(cfg, 1), { pin: true });
  await refused(engine.activate("a", randomIa3(cfg, 2)), ConflictError, 409, /already active/);
  await engine.activate("b", randomIa3(cfg, 2), { pin: true });
  await refused(engine.activate("c", randomIa3(cfg, 3)), OverCapacityError, 409, /all 2 T-Few table rows are pinned, so this adapter/);
  await refused(
    engine.activate("p", randomIa3(cfg, 3), { pin: true }),
    OverCapacityError,
    409,
    /all 2 T-Few table rows are pinned: deactivate/,
  );
  await refused(engine.activate("d e", randomIa3(cfg, 3)), InvalidRequestError, 400, /model name/);
  await refused(engine.activate("nothing", join(tmp, "missing")), InvalidRequestError, 400, /neither an adapter directory/);
  for (const n of ["lo", "lo2", "a", "b"]) await engine.deactivate(n);
  const s = engine.stats();
  assert.deepEqual([s.tables.ia3.used, s.tables.lora.used, s.tiers.hot + s.tiers.host + s.tiers.disk, s.tiers.hostBytes], [0, 0, 0, 0]);
  await refused(engine.deactivate("a"), UnknownModelError, 404, /no active model or adapter named 'a'/);
  const noLora = await createEngine({ model, lora: { maxAdapters: 0 }, maxAdapters: 0, threads: 1 });
  try {
    await refused(noLora.activate("lo", randomLora(cfg, 2, 2)), AdapterMismatchError, 422, /no LoRA adapters/);
    await refused(noLora.activate("ia", randomIa3(cfg, 2)), AdapterMismatchError, 422, /no T-Few/);
    assert.ok(
      (await noLora.submit({ promptIds: [1, 5], sampling: { temperature: 0, maxTokens: 3 } })).ids.length > 0,
      "the base is still served",
    );
  } finally {
    await noLora.close();
  }
});

test("malformed requests are refused (400, 404) before they queue", async () => {
  const ok = { temperature: 0, maxTokens: 3 };
  await refused(engine.submit({ promptIds: [], sampling: ok }), InvalidRequestError, 400, /prompt is empty/);
  await refused(engine.submit({ promptIds: [1, 99999], sampling: ok }), InvalidRequestError, 400, /outside the vocabulary/);
  await refused(engine.submit({ promptIds: new Array(64).fill(1), sampling: ok }), InvalidRequestError, 400, /context is 64/);
  await refused(engine.submit({ promptIds: [1], sampling: { temperature: -1 } }), InvalidRequestError, 400, /sampling: temperature/);
  await refused(engine.submit({ promptIds: [1], sampling: { bogus: 1 } as never }), InvalidRequestError, 400, /sampling/);
  await refused(
    engine.submit({ adapter: "nope", promptIds: [1], sampling: ok }),
    UnknownModelError,
    404,
    /no active model or adapter named 'nope'/,
  );
  const ac = new AbortController();
  ac.abort();
  await refused(engine.submit({ promptIds: [1], sampling: ok, signal: ac.signal }), HostingError, 499, /cancelled/);
  assert.equal(engine.stats().queue.length, 0);
});

test("options are validated (unknown keys rejected)", async () => {
  await refused(createEngine({ model, maxBatchSize: 0 }), InvalidRequestError, 400, /maxBatchSize/);
  await refused(createEngine({ model, batch: 4 } as never), InvalidRequestError, 400, /batch/);
  await refused(createEngine({ model, lora: { rank: 4, alpha: 1 } } as never), InvalidRequestError, 400, /alpha/);
  await refused(createEngine({} as never), InvalidRequestError, 400, /modelDir or model/);
});
