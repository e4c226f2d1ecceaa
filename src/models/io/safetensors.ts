// Reading and writing the .safetensors format: an 8-byte little-endian header length, a JSON header
// (name -> dtype, shape, data_offsets) and the raw little-endian tensor bytes. Tensors are read lazily,
// one positional read each, straight into the buffer that backs the returned typed array.

import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { open, readFile, rename, stat, unlink } from "node:fs/promises";
import { endianness } from "node:os";
import { basename, dirname, join } from "node:path";
import { z } from "zod";
import { listProblems } from "../../errors/index.ts";
import { ModelIoError } from "./errors.ts";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "./float16.ts";

// Typed arrays use host byte order; the format is little-endian.
if (endianness() !== "LE") throw new Error("safetensors I/O needs a little-endian host");

export const DTYPES = ["F32", "F16", "BF16", "I64", "I32", "U8", "BOOL"] as const;
/**
 * Element types as stored in a file (safetensors spelling: "F32", "BF16", …). F16/BF16 are carried as
 * Uint16Array bits. Not the engine's compute DType ("float32", …).
 */
export type StorageDType = (typeof DTYPES)[number];

export const DTYPE_BYTES: Readonly<Record<StorageDType, number>> = { F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, U8: 1, BOOL: 1 };

/** The storage-typed array of one tensor: F32 Float32Array, F16/BF16 Uint16Array, I64 BigInt64Array, I32 Int32Array, U8/BOOL Uint8Array. */
export type RawArray = Float32Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array;

/** One tensor of a checkpoint: header facts now, data on request (every call reads the file again). */
export interface TensorEntry {
  readonly name: string;
  readonly dtype: StorageDType;
  readonly shape: readonly number[];
  /** The .safetensors file holding the data. */
  readonly file: string;
  /** Absolute position of the first byte in `file`. */
  readonly byteOffset: number;
  readonly byteLength: number;
  /** The stored bytes as their storage type, no conversion. */
  raw(): Promise<RawArray>;
  /** Values as float32: no copy for F32, table/shift conversion for F16/BF16, numeric cast for integers. */
  float32(): Promise<Float32Array>;
}

export interface SafetensorsFile {
  path: string;
  /** The optional `__metadata__` string map. */
  metadata: Record<string, string>;
  tensors: Map<string, TensorEntry>;
}

// Headers are JSON text; anything this large is a corrupt or hostile file, not a checkpoint.
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

const headerEntry = z.object({
  dtype: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  data_offsets: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]),
});
const metadataSchema = z.record(z.string(), z.string());

export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

async function readExactly(path: string, position: number, length: number): Promise<ArrayBuffer> {
  const buffer = new ArrayBuffer(length);
  const view = new Uint8Array(buffer);
  const fh = await open(path, "r");
  try {
    let done = 0;
    while (done < length) {
      const { bytesRead } = await fh.read(view, done, length - done, position + done);
      if (bytesRead === 0) throw new ModelIoError(path, `unexpected end of file at byte ${position + done}`);
      done += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return buffer;
}

function rawView(dtype: StorageDType, buffer: ArrayBuffer): RawArray {
  switch (dtype) {
    case "F32":
      return new Float32Array(buffer);
    case "F16":
    case "BF16":
      return new Uint16Array(buffer);
    case "I64":
      return new BigInt64Array(buffer);
    case "I32":
      return new Int32Array(buffer);
    case "U8":
    case "BOOL":
      return new Uint8Array(buffer);
  }
}

/** Convert a storage-typed array to float32 (F32 is returned as is). */
export function toFloat32(dtype: StorageDType, raw: RawArray): Float32Array {
  if (dtype === "F32") return raw as Float32Array;
  if (dtype === "F16") return f16ToF32(raw as Uint16Array);
  if (dtype === "BF16") return bf16ToF32(raw as Uint16Array);
  const out = new Float32Array(raw.length);
  if (raw instanceof BigInt64Array) for (let i = 0; i < raw.length; i++) out[i] = Number(raw[i]);
  else out.set(raw as Int32Array | Uint8Array);
  return out;
}

function makeEntry(name: string, dtype: StorageDType, shape: number[], file: string, byteOffset: number, byteLength: number): TensorEntry {
  const raw = async (): Promise<RawArray> => rawView(dtype, await readExactly(file, byteOffset, byteLength));
  return { name, dtype, shape, file, byteOffset, byteLength, raw, float32: async () => toFloat32(dtype, await raw()) };
}

/** One tensor's place in the data section, as the header states it (validated). */
interface Span {
  name: string;
  dtype: StorageDType;
  shape: number[];
  /** offsets into the data section */
  begin: number;
  end: number;
}

/** The 8-byte header length, checked against the cap and the file size; returns where the data starts. */
function headerLengthOf(path: string, prefix: Uint8Array, fileSize: number): number {
  if (fileSize < 8) throw new ModelIoError(path, "not a safetensors file (shorter than 8 bytes)");
  const headerLength = Number(new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > fileSize)
    throw new ModelIoError(path, `header length ${headerLength} does not fit a file of ${fileSize} bytes`);
  return headerLength;
}

/**
 * Validate a header's JSON text against the file size: every entry well formed with a supported dtype and
 * a byte length that fits its shape, the tensors tiling the data section exactly. Every problem is
 * collected into one error.
 */
function parseHeader(path: string, json: Uint8Array, fileSize: number): { metadata: Record<string, string>; spans: Span[] } {
  const dataStart = 8 + json.byteLength;
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString("utf8"));
  } catch (e) {
    throw new ModelIoError(path, `header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw new ModelIoError(path, "header is not a JSON object");

  const problems: string[] = [];
  let metadata: Record<string, string> = {};
  const spans: Span[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === "__metadata__") {
      const parsed = metadataSchema.safeParse(value);
      if (parsed.success) metadata = parsed.data;
      else problems.push("__metadata__ must map strings to strings");
      continue;
    }
    const parsed = headerEntry.safeParse(value);
    if (!parsed.success) {
      problems.push(`${name}: malformed entry ${JSON.stringify(value)}`);
      continue;
    }
    const { dtype, shape, data_offsets: [begin, end] } = parsed.data;
    if (!(DTYPES as readonly string[]).includes(dtype)) {
      problems.push(`${name}: unsupported dtype ${dtype} (supported: ${DTYPES.join(", ")})`);
      continue;
    }
    const expected = numel(shape) * DTYPE_BYTES[dtype as StorageDType];
    if (end - begin !== expected) {
      problems.push(`${name}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes, ${dtype}[${shape.join(", ")}] needs ${expected}`);
      continue;
    }
    spans.push({ name, dtype: dtype as StorageDType, shape, begin, end });
  }
  // As in the reference implementation, tensors must tile the data section exactly: no holes, no overlaps.
  const sorted = [...spans].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const s of sorted) {
    if (s.begin !== cursor) problems.push(`${s.name}: data starts at ${s.begin}, expected ${cursor} (hole or overlap)`);
    cursor = Math.max(cursor, s.end);
  }
  if (problems.length === 0 && dataStart + cursor !== fileSize)
    problems.push(`tensors end at byte ${dataStart + cursor} but the file has ${fileSize} bytes`);
  if (problems.length > 0) throw new ModelIoError(path, listProblems("invalid safetensors header:", problems, problems.length));
  return { metadata, spans };
}

/** Read the header of one .safetensors file and validate it against the file size; data stays on disk. */
export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  let fileSize: number;
  try {
    fileSize = (await stat(path)).size;
  } catch (e) {
    throw new ModelIoError(path, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const headerLength = headerLengthOf(path, fileSize < 8 ? new Uint8Array(8) : new Uint8Array(await readExactly(path, 0, 8)), fileSize);
  const { metadata, spans } = parseHeader(path, new Uint8Array(await readExactly(path, 8, headerLength)), fileSize);
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, TensorEntry>();
  for (const s of spans) tensors.set(s.name, makeEntry(s.name, s.dtype, s.shape, path, dataStart + s.begin, s.end - s.begin));
  return { path, metadata, tensors };
}

/** One tensor of a safetensors file held in memory: header facts and synchronous access to its data. */
export interface BufferTensor {
  readonly name: string;
  readonly dtype: StorageDType;
  readonly shape: readonly number[];
  /** The stored values as their storage type, copied into their own (aligned) buffer. */
  raw(): RawArray;
  /** Values as float32 (see toFloat32). */
  float32(): Float32Array;
}

/**
 * The synchronous, in-memory reader: parse a whole .safetensors file already read into `bytes` (`path` names
 * it in errors), with the same checks as readSafetensors. For small files read where an async hop costs
 * more than the read (adapters activated between inference steps).
 */
export function parseSafetensors(bytes: Uint8Array, path: string): { metadata: Record<string, string>; tensors: Map<string, BufferTensor> } {
  const headerLength = headerLengthOf(path, bytes, bytes.byteLength);
  const { metadata, spans } = parseHeader(path, bytes.subarray(8, 8 + headerLength), bytes.byteLength);
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, BufferTensor>();
  for (const s of spans) {
    // copied: the file's offsets need not be multiples of the element size
    const raw = (): RawArray => rawView(s.dtype, new Uint8Array(bytes.subarray(dataStart + s.begin, dataStart + s.end)).buffer);
    tensors.set(s.name, { name: s.name, dtype: s.dtype, shape: s.shape, raw, float32: () => toFloat32(s.dtype, raw()) });
  }
  return { metadata, tensors };
}

/** Read a whole .safetensors file synchronously and parse it (see parseSafetensors). */
export function readSafetensorsSync(path: string): { metadata: Record<string, string>; tensors: Map<string, BufferTensor> } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new ModelIoError(path, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseSafetensors(bytes, path);
}

const indexSchema = z.object({ weight_map: z.record(z.string(), z.string()) });

/**
 * All tensors of a checkpoint: `dir/model.safetensors`, or the shards listed by
 * `dir/model.safetensors.index.json`, or a single .safetensors file given directly.
 */
export async function loadTensors(dirOrFile: string): Promise<Map<string, TensorEntry>> {
  if (dirOrFile.endsWith(".safetensors")) return (await readSafetensors(dirOrFile)).tensors;
  const indexPath = join(dirOrFile, "model.safetensors.index.json");
  if (!existsSync(indexPath)) {
    const single = join(dirOrFile, "model.safetensors");
    if (!existsSync(single)) throw new ModelIoError(dirOrFile, "no model.safetensors or model.safetensors.index.json");
    return (await readSafetensors(single)).tensors;
  }
  let index: z.infer<typeof indexSchema>;
  try {
    const parsed = indexSchema.safeParse(JSON.parse(await readFile(indexPath, "utf8")));
    if (!parsed.success) throw new Error("expected an object with a weight_map of tensor name -> shard file");
    index = parsed.data;
  } catch (e) {
    throw new ModelIoError(indexPath, (e as Error).message);
  }
  const shards = [...new Set(Object.values(index.weight_map))].sort();
  const bad = shards.filter((s) => basename(s) !== s || !s.endsWith(".safetensors"));
  if (bad.length > 0) throw new ModelIoError(indexPath, `shard names must be plain .safetensors file names: ${bad.join(", ")}`);

  const all = new Map<string, TensorEntry>();
  const problems: string[] = [];
  for (const shard of shards) {
    const { tensors } = await readSafetensors(join(dirOrFile, shard));
    for (const [name, entry] of tensors) {
      if (all.has(name)) problems.push(`${name} is in both ${basename(all.get(name)!.file)} and ${shard}`);
      else all.set(name, entry);
    }
  }
  for (const [name, shard] of Object.entries(index.weight_map)) {
    const found = all.get(name);
    if (!found) problems.push(`${name} is listed in ${shard} but not stored there`);
    else if (basename(found.file) !== shard) problems.push(`${name} is listed in ${shard} but stored in ${basename(found.file)}`);
  }
  // Tensors stored but not listed are kept: the weight checker reports them if they matter.
  if (problems.length > 0) throw new ModelIoError(indexPath, listProblems("shards disagree with the index:", problems, problems.length));
  return all;
}

/** Data accepted by the writer; F16/BF16 take raw bits (Uint16Array) or float32 values to round. */
export type TensorToWrite =
  | { dtype: "F32"; shape: readonly number[]; data: Float32Array }
  | { dtype: "F16" | "BF16"; shape: readonly number[]; data: Uint16Array | Float32Array }
  | { dtype: "I64"; shape: readonly number[]; data: BigInt64Array | Int32Array }
  | { dtype: "I32"; shape: readonly number[]; data: Int32Array }
  | { dtype: "U8" | "BOOL"; shape: readonly number[]; data: Uint8Array };

function storageBytes(name: string, t: TensorToWrite): Uint8Array {
  const dtype: string = t.dtype;
  if (!(DTYPES as readonly string[]).includes(dtype)) throw new Error(`writeSafetensors: ${name}: unsupported dtype ${dtype}`);
  if (t.shape.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`writeSafetensors: ${name}: bad shape [${t.shape.join(", ")}]`);
  if (t.data.length !== numel(t.shape))
    throw new Error(`writeSafetensors: ${name}: ${t.data.length} values for shape [${t.shape.join(", ")}]`);
  let data: RawArray = t.data;
  if (t.dtype === "F16" && t.data instanceof Float32Array) data = f32ToF16(t.data);
  else if (t.dtype === "BF16" && t.data instanceof Float32Array) data = f32ToBf16(t.data);
  else if (t.dtype === "I64" && t.data instanceof Int32Array) data = BigInt64Array.from(t.data, (v) => BigInt(v));
  const expected = { F32: Float32Array, F16: Uint16Array, BF16: Uint16Array, I64: BigInt64Array, I32: Int32Array, U8: Uint8Array, BOOL: Uint8Array }[t.dtype];
  if (!(data instanceof expected)) throw new Error(`writeSafetensors: ${name}: ${t.dtype} data must be a ${expected.name}`);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Write tensors to `path` atomically (temp file in the same directory, fsync, rename). Tensors are laid
 * out by element size, largest first, then by name, so every tensor is naturally aligned in the file.
 */
export async function writeSafetensors(path: string, tensors: Record<string, TensorToWrite>, metadata?: Record<string, string>): Promise<void> {
  const names = Object.keys(tensors).sort((a, b) => DTYPE_BYTES[tensors[b]!.dtype] - DTYPE_BYTES[tensors[a]!.dtype] || (a < b ? -1 : a > b ? 1 : 0));
  if (names.includes("__metadata__")) throw new Error("writeSafetensors: __metadata__ is reserved and cannot name a tensor");
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    if (!metadataSchema.safeParse(metadata).success) throw new Error("writeSafetensors: metadata values must be strings");
    header.__metadata__ = metadata;
  }
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    const t = tensors[name]!;
    const bytes = storageBytes(name, t);
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.byteLength] };
    blobs.push(bytes);
    offset += bytes.byteLength;
  }
  // The format wants the data section 8-byte aligned: pad the JSON with spaces.
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const padded = Buffer.alloc(Math.ceil(json.length / 8) * 8, 0x20);
  json.copy(padded);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(padded.length));

  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const fh = await open(tmp, "w");
  try {
    await fh.writev([prefix, padded]);
    for (const blob of blobs) {
      // One write() call moves at most ~2 GiB on Linux; loop until the blob is out.
      for (let done = 0; done < blob.byteLength; ) done += (await fh.write(blob, done, blob.byteLength - done)).bytesWritten;
    }
    await fh.sync();
    await fh.close();
    await rename(tmp, path);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}
