// The synchronous in-memory safetensors reader (parseSafetensors / readSafetensorsSync) against the async
// one: same tensors and values from files of both writers, and the same error for every corrupt file.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ModelIoError } from "../../../src/models/io/errors.ts";
import { parseSafetensors, readSafetensors, readSafetensorsSync, writeSafetensors } from "../../../src/models/io/safetensors.ts";

const tmp = (): string => mkdtempSync(join(tmpdir(), "sprig-st-sync-"));

function withHeader(h: object, data: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(h));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

test("the sync reader returns what the async reader does (Sprig-written and Python-written files)", async () => {
  const file = join(tmp(), "mixed.safetensors");
  await writeSafetensors(file, {
    a: { dtype: "F32", shape: [2, 2], data: Float32Array.of(1, -2, 3.5, 4) },
    b: { dtype: "BF16", shape: [2], data: Float32Array.of(-123.5, 2) },
    c: { dtype: "I64", shape: [1], data: BigInt64Array.of(-7n) },
  }, { format: "pt" });
  // a Python-written checkpoint whose tensors need not sit at aligned offsets
  for (const path of [file, "test/fixtures/models/tiny-llama-bf16/model.safetensors"]) {
    const want = await readSafetensors(path);
    const got = readSafetensorsSync(path);
    assert.deepEqual(got.metadata, want.metadata);
    assert.deepEqual([...got.tensors.keys()], [...want.tensors.keys()]);
    for (const [name, t] of want.tensors) {
      const g = got.tensors.get(name)!;
      assert.equal(g.dtype, t.dtype);
      assert.deepEqual(g.shape, t.shape);
      assert.deepEqual(g.float32(), await t.float32(), name);
    }
  }
});

test("every corrupt file fails in both readers with the same message", async () => {
  const dir = tmp();
  const good = join(dir, "good.safetensors");
  await writeSafetensors(good, { a: { dtype: "F32", shape: [4], data: new Float32Array(4) } });
  const bytes = readFileSync(good);
  const f32 = (begin: number, end: number, n = (end - begin) / 4) => ({ dtype: "F32", shape: [n], data_offsets: [begin, end] });
  const cases: Array<[string, Buffer, RegExp]> = [
    ["short", Buffer.from([1, 2, 3]), /shorter than 8 bytes/],
    ["truncated", bytes.subarray(0, bytes.length - 4), /tensors end at byte/],
    ["huge-header", Buffer.concat([Buffer.from([0xff, 0xff, 0, 0, 0, 0, 0, 0]), Buffer.from("{}")]), /header length 65535 does not fit/],
    ["not-json", Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from("{no}")]), /header is not valid JSON/],
    ["f64", withHeader({ w: { dtype: "F64", shape: [1], data_offsets: [0, 8] } }, Buffer.alloc(8)), /w: unsupported dtype F64/],
    ["wrong-size", withHeader({ w: f32(0, 8, 3) }, Buffer.alloc(8)), /w: data_offsets \[0, 8\] hold 8 bytes, F32\[3\] needs 12/],
    ["hole", withHeader({ x: f32(0, 4), y: f32(8, 12) }, Buffer.alloc(12)), /y: data starts at 8, expected 4 \(hole or overlap\)/],
    ["overlap", withHeader({ x: f32(0, 8), y: f32(4, 12) }, Buffer.alloc(12)), /y: data starts at 4, expected 8 \(hole or overlap\)/],
  ];
  for (const [name, content, pattern] of cases) {
    const path = join(dir, `${name}.safetensors`);
    writeFileSync(path, content);
    let asyncMessage = "";
    await assert.rejects(readSafetensors(path), (e: Error) => {
      assert.ok(e instanceof ModelIoError && e.file === path, name);
      asyncMessage = e.message;
      return true;
    });
    assert.match(asyncMessage, pattern, name);
    assert.throws(() => parseSafetensors(readFileSync(path), path), (e: Error) => e instanceof ModelIoError && e.message === asyncMessage, name);
  }
  assert.throws(() => readSafetensorsSync(join(dir, "gone.safetensors")), /gone.safetensors: cannot read \(ENOENT\)/);
});
