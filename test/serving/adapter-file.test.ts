// The hosting engine's synchronous adapter read goes through the same safetensors reader and the same
// adapter check as loadAdapter: a file with a hole, an unexpected tensor (on disk or in memory) and a
// sprig_adapter.json naming another base are refused with the status the API maps.

import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { baseFingerprint } from "../../src/adapters/fingerprint.ts";
import { createIa3 } from "../../src/adapters/ia3.ts";
import { loadAdapter, otherBase } from "../../src/adapters/peft-io.ts";
import { writeSafetensors } from "../../src/models/io/safetensors.ts";
import { loadModel } from "../../src/models/index.ts";
import { resolveSource } from "../../src/serving/hosting/activation-source.ts";
import { readAdapterDir } from "../../src/serving/hosting/adapter-file.ts";
import { AdapterMismatchError, HostingError, InvalidRequestError } from "../../src/serving/hosting/errors.ts";

const ADAPTER = "test/fixtures/golden/grad/tiny-llama-ia3/adapter";
const WEIGHTS = "adapter_model.safetensors";

function copy(): string {
  const dir = join(mkdtempSync(join(tmpdir(), "sprig-adapter-file-")), "a");
  cpSync(ADAPTER, dir, { recursive: true });
  return dir;
}

function refused(f: () => unknown, type: typeof AdapterMismatchError | typeof InvalidRequestError, pattern: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof type, `expected ${type.name}, got ${e}`);
    assert.equal((e as HostingError).status, type === AdapterMismatchError ? 422 : 400);
    assert.match((e as Error).message, pattern);
    return true;
  });
}

test("the synchronous read gives loadAdapter's adapter", async () => {
  const model = await loadModel("test/fixtures/models/tiny-llama");
  const want = await loadAdapter(ADAPTER, model.config);
  const got = readAdapterDir(ADAPTER, model.config);
  assert.deepEqual(got.config, want.config);
  assert.deepEqual([...got.tensors.keys()], [...want.tensors.keys()]);
  for (const [k, t] of want.tensors) assert.deepEqual(got.tensors.get(k), t, k);
});

test("a weights file with a hole between tensors is a malformed file (400)", async () => {
  const model = await loadModel("test/fixtures/models/tiny-llama");
  const dir = copy();
  const bytes = readFileSync(join(dir, WEIGHTS));
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString("utf8")) as Record<string, { data_offsets: [number, number] }>;
  // move the last tensor 4 bytes on and pad the file: every entry stays inside the file, but a hole opens
  const [last] = Object.entries(header)
    .filter(([k]) => k !== "__metadata__")
    .sort((a, b) => b[1].data_offsets[0] - a[1].data_offsets[0]);
  last![1].data_offsets = [last![1].data_offsets[0] + 4, last![1].data_offsets[1] + 4];
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(join(dir, WEIGHTS), Buffer.concat([len, json, bytes.subarray(8 + n), Buffer.alloc(4)]));
  refused(() => readAdapterDir(dir, model.config), InvalidRequestError, /hole or overlap/);
});

test("an unexpected tensor is refused on disk and in memory (422)", async () => {
  const model = await loadModel("test/fixtures/models/tiny-llama");
  const dir = copy();
  const adapter = await loadAdapter(ADAPTER, model.config);
  const tensors = Object.fromEntries([...adapter.tensors].map(([k, t]) => [k, { dtype: "F32" as const, shape: t.shape, data: t.data }]));
  await writeSafetensors(join(dir, WEIGHTS), {
    ...tensors,
    "base_model.model.extra.ia3_l": { dtype: "F32", shape: [1], data: Float32Array.of(1) },
  });
  refused(
    () => readAdapterDir(dir, model.config),
    AdapterMismatchError,
    /another base model[\s\S]*unexpected base_model\.model\.extra\.ia3_l/,
  );

  const inMemory = createIa3(model.config);
  inMemory.tensors.set("base_model.model.extra.ia3_l", { shape: [1], data: Float32Array.of(1) });
  refused(() => resolveSource(inMemory, model.config, "v1:x"), AdapterMismatchError, /unexpected base_model\.model\.extra\.ia3_l/);
});

test("one base check of sprig_adapter.json: a recorded other base is refused, none or the same passes", async () => {
  const model = await loadModel("test/fixtures/models/tiny-llama");
  const fp = baseFingerprint(model.config, model.weights);
  assert.equal(otherBase("d", {}, fp), null);
  assert.equal(otherBase("d", { baseFingerprint: fp }, fp), null);
  assert.match(
    otherBase("d", { baseFingerprint: "v1:other" }, fp)!,
    /d was made from another base model \(its sprig_adapter.json names base v1:other; this base is v1:/,
  );
  const dir = copy();
  writeFileSync(join(dir, "sprig_adapter.json"), JSON.stringify({ baseFingerprint: "v1:other" }));
  refused(() => resolveSource(dir, model.config, fp), AdapterMismatchError, /made from another base model/);
  writeFileSync(join(dir, "sprig_adapter.json"), "{not json");
  refused(() => resolveSource(dir, model.config, fp), InvalidRequestError, /sprig_adapter.json: not valid JSON/);
});
