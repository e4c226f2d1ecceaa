// GGUF (version 3), llama.cpp's model file: a header of typed key/value metadata and tensor infos, then
// the tensor data, each aligned to 32 bytes. Tensors are written as F32, F16 or Q8_0 (blocks of 32 values:
// one float16 scale and 32 int8s, ggml's reference quantizer). Written atomically (temp file, rename).

import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { f32ToF16, f32BitsToF16 } from "./float16.ts";

/** ggml tensor types Sprig writes (ggml's enum values). */
export const GGML_TYPE = { F32: 0, F16: 1, Q8_0: 8 } as const;
export type GgmlType = keyof typeof GGML_TYPE;

const ALIGNMENT = 32;
const Q8_BLOCK = 32;
const Q8_BLOCK_BYTES = 2 + Q8_BLOCK;

/** A metadata value with its GGUF type. */
export type GgufValue =
  | { type: "u32"; value: number }
  | { type: "i32"; value: number }
  | { type: "f32"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "string[]"; value: readonly string[] }
  | { type: "i32[]"; value: ArrayLike<number> };

export interface GgufTensor {
  name: string;
  /** PyTorch order (outermost first), e.g. (rows, cols) for a Linear weight */
  shape: readonly number[];
  data: Float32Array;
  type: GgmlType;
}

// GGUF value type ids
const T = { u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10 } as const;

class Bytes {
  private chunks: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  i32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.push(b);
  }
  u64(v: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  f32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
  }
  str(s: string): void {
    const b = Buffer.from(s, "utf8");
    this.u64(b.length);
    this.push(b);
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function writeValue(out: Bytes, v: GgufValue): void {
  switch (v.type) {
    case "u32": return void (out.u32(T.u32), out.u32(v.value));
    case "i32": return void (out.u32(T.i32), out.i32(v.value));
    case "f32": return void (out.u32(T.f32), out.f32(v.value));
    case "bool": return void (out.u32(T.bool), out.push(Buffer.from([v.value ? 1 : 0])));
    case "string": return void (out.u32(T.string), out.str(v.value));
    case "string[]":
      out.u32(T.array);
      out.u32(T.string);
      out.u64(v.value.length);
      for (const s of v.value) out.str(s);
      return;
    case "i32[]": {
      out.u32(T.array);
      out.u32(T.i32);
      out.u64(v.value.length);
      const b = Buffer.alloc(4 * v.value.length);
      for (let i = 0; i < v.value.length; i++) b.writeInt32LE(v.value[i]!, 4 * i);
      out.push(b);
    }
  }
}

/** Q8_0 as ggml's quantize_row_q8_0_ref: per block of 32, d = max|x| / 127, q = round(x / d). */
export function quantizeQ8_0(x: Float32Array): Buffer {
  if (x.length % Q8_BLOCK !== 0) throw new Error(`quantizeQ8_0: ${x.length} values is not a multiple of ${Q8_BLOCK}`);
  const nb = x.length / Q8_BLOCK;
  const out = Buffer.alloc(nb * Q8_BLOCK_BYTES);
  const f = new Float32Array(1);
  const bits = new Uint32Array(f.buffer);
  for (let b = 0; b < nb; b++) {
    let amax = 0;
    for (let j = 0; j < Q8_BLOCK; j++) amax = Math.max(amax, Math.abs(x[b * Q8_BLOCK + j]!));
    // float32 arithmetic and round-half-away-from-zero, as the C reference (roundf)
    const d = Math.fround(amax / 127);
    const id = d ? Math.fround(1 / d) : 0;
    const o = b * Q8_BLOCK_BYTES;
    f[0] = d;
    out.writeUInt16LE(f32BitsToF16(bits[0]!), o);
    for (let j = 0; j < Q8_BLOCK; j++) {
      const v = Math.fround(x[b * Q8_BLOCK + j]! * id);
      out.writeInt8(Math.sign(v) * Math.round(Math.abs(v)), o + 2 + j);
    }
  }
  return out;
}

/** The bytes of one tensor in its ggml type. */
export function tensorBytes(t: GgufTensor): Buffer {
  if (t.type === "F32") return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  if (t.type === "F16") {
    const h = f32ToF16(t.data);
    return Buffer.from(h.buffer, h.byteOffset, h.byteLength);
  }
  if (t.shape.at(-1)! % Q8_BLOCK !== 0) throw new Error(`${t.name}: rows of ${t.shape.at(-1)} values cannot be Q8_0 (blocks of ${Q8_BLOCK})`);
  return quantizeQ8_0(t.data);
}

const pad = (n: number) => (ALIGNMENT - (n % ALIGNMENT)) % ALIGNMENT;

/** Write a GGUF v3 file: metadata in the given order, tensors in the given order. */
export async function writeGguf(path: string, metadata: ReadonlyMap<string, GgufValue>, tensors: readonly GgufTensor[]): Promise<void> {
  const head = new Bytes();
  head.push(Buffer.from("GGUF", "ascii"));
  head.u32(3);
  head.u64(tensors.length);
  head.u64(metadata.size);
  for (const [k, v] of metadata) {
    head.str(k);
    writeValue(head, v);
  }
  const blobs: Buffer[] = [];
  let offset = 0;
  for (const t of tensors) {
    const bytes = tensorBytes(t);
    head.str(t.name);
    head.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) head.u64(d); // ggml: ne[0] is the innermost dimension
    head.u32(GGML_TYPE[t.type]);
    head.u64(offset);
    blobs.push(bytes);
    offset += bytes.length + pad(bytes.length);
  }
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const fh = await open(tmp, "w");
  try {
    const header = head.toBuffer();
    await fh.write(header);
    await fh.write(Buffer.alloc(pad(header.length)));
    for (const b of blobs) {
      await fh.write(b);
      await fh.write(Buffer.alloc(pad(b.length)));
    }
    await fh.sync();
    await fh.close();
    await rename(tmp, path);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
}
