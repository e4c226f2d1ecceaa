// safetensors: round trips for every dtype, header layout and alignment, sharded directories, files written
// by the Python safetensors library (test fixtures), and clear errors for corrupt files.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ModelIoError } from "../../../src/models/io/errors.ts";
import { type TensorToWrite, DTYPE_BYTES, loadTensors, readSafetensors, writeSafetensors } from "../../../src/models/io/safetensors.ts";

const tmp = (): string => mkdtempSync(join(tmpdir(), "sprig-st-"));

const tensors: Record<string, TensorToWrite> = {
  "f32.matrix": { dtype: "F32", shape: [2, 3], data: Float32Array.of(1, -2.5, 3e-8, 1e30, -0, 7) },
  "f16.bits": { dtype: "F16", shape: [3], data: Uint16Array.of(0x3c00, 0xc000, 0x7bff) },
  "f16.values": { dtype: "F16", shape: [2], data: Float32Array.of(0.5, -65504) },
  "bf16.bits": { dtype: "BF16", shape: [2], data: Uint16Array.of(0x3f80, 0x4049) },
  "bf16.values": { dtype: "BF16", shape: [1, 2], data: Float32Array.of(-123.5, 2) },
  "i64.big": { dtype: "I64", shape: [3], data: BigInt64Array.of(-1n, 2n ** 40n, 7n) },
  "i64.small": { dtype: "I64", shape: [2], data: Int32Array.of(-5, 9) },
  "i32": { dtype: "I32", shape: [2, 2], data: Int32Array.of(1, -2, 3, 2 ** 31 - 1) },
  "u8": { dtype: "U8", shape: [5], data: Uint8Array.of(0, 1, 127, 128, 255) },
  "bool": { dtype: "BOOL", shape: [2], data: Uint8Array.of(1, 0) },
  "scalar": { dtype: "F32", shape: [], data: Float32Array.of(42) },
  "empty": { dtype: "F32", shape: [0, 3], data: new Float32Array(0) },
};

test("every dtype round-trips through write and read, raw and as float32", async () => {
  const file = join(tmp(), "all.safetensors");
  await writeSafetensors(file, tensors, { format: "pt", note: "round trip" });
  const st = await readSafetensors(file);
  assert.deepEqual(st.metadata, { format: "pt", note: "round trip" });
  assert.deepEqual([...st.tensors.keys()].sort(), Object.keys(tensors).sort());
  const raw = async (name: string) => Array.from((await st.tensors.get(name)!.raw()) as ArrayLike<number | bigint>);
  const f32 = async (name: string) => [...(await st.tensors.get(name)!.float32())];
  assert.deepEqual(await raw("f32.matrix"), [...Float32Array.of(1, -2.5, 3e-8, 1e30, -0, 7)]);
  assert.deepEqual(await raw("f16.bits"), [0x3c00, 0xc000, 0x7bff]);
  assert.deepEqual(await f32("f16.bits"), [1, -2, 65504]);
  assert.deepEqual(await f32("f16.values"), [0.5, -65504]);
  assert.deepEqual(await raw("bf16.bits"), [0x3f80, 0x4049]);
  assert.deepEqual(await f32("bf16.values"), [-123.5, 2]);
  assert.deepEqual(await raw("i64.big"), [-1n, 2n ** 40n, 7n]);
  assert.deepEqual(await raw("i64.small"), [-5n, 9n]);
  assert.deepEqual(await f32("i64.small"), [-5, 9]);
  assert.deepEqual(await raw("i32"), [1, -2, 3, 2 ** 31 - 1]);
  assert.deepEqual(await raw("u8"), [0, 1, 127, 128, 255]);
  assert.deepEqual(await f32("bool"), [1, 0]);
  assert.deepEqual(await raw("scalar"), [42]);
  assert.deepEqual(await raw("empty"), []);
  const entry = st.tensors.get("bf16.values")!;
  assert.equal(entry.dtype, "BF16");
  assert.deepEqual(entry.shape, [1, 2]);
  assert.ok((await st.tensors.get("i64.big")!.raw()) instanceof BigInt64Array);
});

test("the header is space-padded to 8 bytes and every tensor is naturally aligned", async () => {
  const file = join(tmp(), "aligned.safetensors");
  await writeSafetensors(file, tensors);
  const bytes = readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  assert.equal((8 + n) % 8, 0);
  const headerText = bytes.subarray(8, 8 + n).toString("utf8");
  assert.match(headerText, /^\{.*\} *$/s);
  const header = JSON.parse(headerText) as Record<string, { dtype: keyof typeof DTYPE_BYTES; data_offsets: [number, number] }>;
  let end = 0;
  for (const [name, h] of Object.entries(header)) {
    assert.equal(h.data_offsets[0] % DTYPE_BYTES[h.dtype], 0, `${name} is misaligned`);
    end = Math.max(end, h.data_offsets[1]);
  }
  assert.equal(bytes.length, 8 + n + end);
  assert.equal(header.__metadata__, undefined);
});

test("a one-tensor file has exactly the reference byte layout", async () => {
  const file = join(tmp(), "one.safetensors");
  await writeSafetensors(file, { a: { dtype: "F32", shape: [2], data: Float32Array.of(1, 2) } });
  const json = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
  const padded = json.padEnd(Math.ceil(json.length / 8) * 8, " ");
  const expected = Buffer.concat([Buffer.from([padded.length, 0, 0, 0, 0, 0, 0, 0]), Buffer.from(padded), Buffer.from(Float32Array.of(1, 2).buffer)]);
  assert.deepEqual(readFileSync(file), expected);
});

test("writing is atomic: no temp files remain and an existing file is replaced", async () => {
  const dir = tmp();
  const file = join(dir, "w.safetensors");
  await writeSafetensors(file, { x: { dtype: "F32", shape: [1], data: Float32Array.of(1) } });
  await writeSafetensors(file, { y: { dtype: "F32", shape: [1], data: Float32Array.of(2) } });
  assert.deepEqual(readdirSync(dir), ["w.safetensors"]);
  assert.deepEqual([...(await readSafetensors(file)).tensors.keys()], ["y"]);
  await assert.rejects(writeSafetensors(file, { z: { dtype: "F32", shape: [2], data: Float32Array.of(1) } }), /z: 1 values for shape \[2\]/);
  assert.deepEqual(readdirSync(dir), ["w.safetensors"]);
});

test("a sharded directory loads through model.safetensors.index.json", async () => {
  const dir = tmp();
  await writeSafetensors(join(dir, "model-00001-of-00002.safetensors"), { a: tensors["f32.matrix"]!, b: tensors["bf16.bits"]! });
  await writeSafetensors(join(dir, "model-00002-of-00002.safetensors"), { c: tensors["f16.values"]! });
  const weightMap = { a: "model-00001-of-00002.safetensors", b: "model-00001-of-00002.safetensors", c: "model-00002-of-00002.safetensors" };
  writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: { total_size: 36 }, weight_map: weightMap }));
  const all = await loadTensors(dir);
  assert.deepEqual([...all.keys()].sort(), ["a", "b", "c"]);
  assert.deepEqual([...(await all.get("c")!.float32())], [0.5, -65504]);
  assert.ok(all.get("c")!.file.endsWith("model-00002-of-00002.safetensors"));

  writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ weight_map: { ...weightMap, c: "model-00001-of-00002.safetensors", d: "model-00002-of-00002.safetensors" } }));
  await assert.rejects(loadTensors(dir), (e: Error) => {
    assert.ok(e instanceof ModelIoError);
    assert.match(e.message, /c is listed in model-00001-of-00002.safetensors but stored in model-00002-of-00002.safetensors/);
    assert.match(e.message, /d is listed in model-00002-of-00002.safetensors but not stored there/);
    return true;
  });
  writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ weight_map: { a: "../elsewhere.safetensors" } }));
  await assert.rejects(loadTensors(dir), /plain .safetensors file names/);
});

test("files written by the Python safetensors library read correctly (fixtures)", async () => {
  const sharded = await loadTensors("test/fixtures/models/tiny-llama-f16-sharded");
  const index = JSON.parse(readFileSync("test/fixtures/models/tiny-llama-f16-sharded/model.safetensors.index.json", "utf8")) as { weight_map: Record<string, string> };
  assert.deepEqual([...sharded.keys()].sort(), Object.keys(index.weight_map).sort());
  assert.ok([...sharded.values()].every((t) => t.dtype === "F16"));
  const bf16 = await loadTensors("test/fixtures/models/tiny-llama-bf16");
  const norm = bf16.get("model.norm.weight")!;
  assert.equal(norm.dtype, "BF16");
  const values = await norm.float32();
  assert.ok(values.every((v) => Number.isFinite(v)));
});

test("corrupt or unsupported files fail with the file and tensor named", async () => {
  const dir = tmp();
  const good = join(dir, "good.safetensors");
  await writeSafetensors(good, { a: { dtype: "F32", shape: [4], data: new Float32Array(4) } });
  const bytes = readFileSync(good);

  const truncated = join(dir, "truncated.safetensors");
  writeFileSync(truncated, bytes.subarray(0, bytes.length - 4));
  await assert.rejects(readSafetensors(truncated), (e: Error) => e instanceof ModelIoError && e.file === truncated && /tensors end at byte/.test(e.message));

  const header = (h: object): Buffer => {
    const json = Buffer.from(JSON.stringify(h));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([len, json]);
  };
  const f64 = join(dir, "f64.safetensors");
  writeFileSync(f64, Buffer.concat([header({ w: { dtype: "F64", shape: [1], data_offsets: [0, 8] } }), Buffer.alloc(8)]));
  await assert.rejects(readSafetensors(f64), /f64.safetensors: invalid safetensors header:\n {2}w: unsupported dtype F64/);

  const wrongSize = join(dir, "size.safetensors");
  writeFileSync(wrongSize, Buffer.concat([header({ w: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }), Buffer.alloc(8)]));
  await assert.rejects(readSafetensors(wrongSize), /w: data_offsets \[0, 8\] hold 8 bytes, F32\[3\] needs 12/);

  const hugeHeader = join(dir, "huge.safetensors");
  writeFileSync(hugeHeader, Buffer.concat([Buffer.from([0xff, 0xff, 0, 0, 0, 0, 0, 0]), Buffer.from("{}")]));
  await assert.rejects(readSafetensors(hugeHeader), /header length 65535 does not fit/);

  const notJson = join(dir, "notjson.safetensors");
  writeFileSync(notJson, Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from("{no}")]));
  await assert.rejects(readSafetensors(notJson), /header is not valid JSON/);

  await assert.rejects(loadTensors(dir), /no model.safetensors or model.safetensors.index.json/);
  assert.equal(existsSync(join(dir, "model.safetensors")), false);
});

test("a single .safetensors path loads directly; a missing one names the path", async () => {
  const file = join(tmp(), "adapter_model.safetensors");
  await writeSafetensors(file, { w: { dtype: "F32", shape: [1], data: Float32Array.of(3) } });
  assert.deepEqual([...(await loadTensors(file)).keys()], ["w"]);
  await assert.rejects(loadTensors(`${file}.gone.safetensors`), /gone.safetensors: cannot read \(ENOENT\)/);
});
