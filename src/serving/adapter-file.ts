// Reading a PEFT adapter directory for activation: two synchronous reads (config, whole safetensors
// file, ~0.1 ms for a T-Few adapter) rather than one async open/read/close per tensor. ONNX Runtime's
// node binding runs a step on the main thread, so every async hop of an activation made during a step
// waits for that step to end; read synchronously, an activation completes at the first step boundary.
// The same checks as loadAdapter (shared from peft-io), reported as typed hosting errors.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Adapter, expectedAdapterTensors } from "../adapters/adapter.ts";
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, adapterTensorProblems, parsePeftConfig } from "../adapters/peft-io.ts";
import type { ModelConfig } from "../models/index.ts";
import { DTYPES, DTYPE_BYTES, type DType, type RawArray, toFloat32 } from "../models/io/safetensors.ts";
import { AdapterMismatchError, InvalidRequestError } from "./errors.ts";

interface HeaderEntry {
  dtype: DType;
  shape: number[];
  data_offsets: [number, number];
}

export function readAdapterDir(dir: string, base: ModelConfig): Adapter {
  const cfgPath = join(dir, ADAPTER_CONFIG);
  const raw = read(cfgPath);
  let json: unknown;
  try {
    json = JSON.parse(raw.toString("utf8"));
  } catch (e) {
    throw new InvalidRequestError(`${cfgPath}: not valid JSON (${(e as Error).message})`);
  }
  const parsed = parsePeftConfig(json);
  if ("error" in parsed) throw new InvalidRequestError(`${cfgPath}: ${parsed.error}`);
  const config = parsed.config;
  const expected = expectedAdapterTensors(base, config);
  if (expected.size === 0) throw new AdapterMismatchError(`adapter made for another base model: target_modules ${JSON.stringify(config.target_modules)} match no module of this ${base.family} model`);

  const path = join(dir, ADAPTER_WEIGHTS);
  const buf = read(path);
  const header = parseHeader(buf, path);
  const problems = adapterTensorProblems(expected, header.entries);
  if (problems.length) throw new AdapterMismatchError(`adapter made for another base model (${dir}):\n  ${problems.slice(0, 8).join("\n  ")}${problems.length > 8 ? `\n  … ${problems.length - 8} more` : ""}`);

  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [k, shape] of expected) {
    const t = header.entries.get(k)!;
    const [begin, end] = t.data_offsets;
    // copied into its own (aligned) buffer: the file buffer's offsets need not be multiples of 4
    const bytes = new Uint8Array(buf.subarray(header.dataStart + begin, header.dataStart + end)).buffer;
    tensors.set(k, { shape, data: toFloat32(t.dtype, view(t.dtype, bytes, path)) });
  }
  return { config, tensors };
}

function read(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new InvalidRequestError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

function parseHeader(buf: Buffer, path: string): { dataStart: number; entries: Map<string, HeaderEntry> } {
  const bad = (why: string) => new InvalidRequestError(`${path}: not a safetensors file (${why})`);
  if (buf.length < 8) throw bad("shorter than 8 bytes");
  const n = Number(buf.readBigUInt64LE(0));
  if (8 + n > buf.length) throw bad(`header length ${n} does not fit a file of ${buf.length} bytes`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8")) as Record<string, unknown>;
  } catch (e) {
    throw bad(`header is not JSON: ${(e as Error).message}`);
  }
  const dataStart = 8 + n;
  const entries = new Map<string, HeaderEntry>();
  for (const [k, v] of Object.entries(header)) {
    if (k === "__metadata__") continue;
    const e = v as HeaderEntry;
    const ok =
      (DTYPES as readonly string[]).includes(e?.dtype) &&
      Array.isArray(e.shape) &&
      Array.isArray(e.data_offsets) &&
      e.data_offsets[1] - e.data_offsets[0] === e.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[e.dtype] &&
      dataStart + e.data_offsets[1] <= buf.length;
    if (!ok) throw bad(`entry ${k} is malformed or outside the file`);
    entries.set(k, e);
  }
  return { dataStart, entries };
}

function view(dtype: DType, bytes: ArrayBuffer, path: string): RawArray {
  if (dtype === "F32") return new Float32Array(bytes);
  if (dtype === "F16" || dtype === "BF16") return new Uint16Array(bytes);
  throw new InvalidRequestError(`${path}: adapter tensors must be floating point, not ${dtype}`);
}
