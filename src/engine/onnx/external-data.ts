// Models whose weights exceed protobuf's 2 GB message limit: large initializers go to one data file
// next to the model (ONNX external data), and ONNX Runtime loads the model from its path.

import { randomUUID } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AnyTypedArray } from "../ir/dtype.ts";
import { type ModelProto, bytesOf, onnx } from "./proto.ts";

/** initializers smaller than this stay inline */
const INLINE_BYTES = 1024;
const ALIGN = 4096;
const DATA_FILE = "weights.bin";

/** Written models by signature. Signatures use in-process array identity, so files are never reused across processes. */
const written = new Map<string, { model: Uint8Array; modelPath: string }>();
const dirs: string[] = [];
let cleanupRegistered = false;

/**
 * Writes `<cacheDir>/<signature>-<pid>-<uuid>/model.onnx` and its data file, once per signature in
 * this process; the directories are removed when the process exits. Returns the path and model bytes.
 */
export function writeExternalModel(
  proto: ModelProto,
  data: ReadonlyMap<string, AnyTypedArray>,
  signature: string,
  cacheDir = join(tmpdir(), "sprig-onnx"),
): { model: Uint8Array; modelPath: string } {
  const key = `${cacheDir}|${signature}`;
  const done = written.get(key);
  if (done && existsSync(done.modelPath)) return done;
  const dir = join(cacheDir, `${signature}-${process.pid}-${randomUUID().slice(0, 8)}`);
  const modelPath = join(dir, "model.onnx");
  let offset = 0;
  const plan: Array<{ bytes: Uint8Array; offset: number }> = [];
  const inits = proto.graph!.initializer!.map((t) => {
    const d = data.get(t.name!)!;
    if (d.byteLength < INLINE_BYTES) return t;
    offset = Math.ceil(offset / ALIGN) * ALIGN;
    plan.push({ bytes: bytesOf(d), offset });
    const ext = [
      { key: "location", value: DATA_FILE },
      { key: "offset", value: String(offset) },
      { key: "length", value: String(d.byteLength) },
    ];
    offset += d.byteLength;
    return { ...t, rawData: null, dataLocation: onnx.TensorProto.DataLocation.EXTERNAL, externalData: ext };
  });
  const model = onnx.ModelProto.encode({ ...proto, graph: { ...proto.graph, initializer: inits } }).finish();
  mkdirSync(dir, { recursive: true });
  dirs.push(dir);
  if (!cleanupRegistered) {
    cleanupRegistered = true;
    process.on("exit", () => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  }
  const fd = openSync(join(dir, DATA_FILE), "w");
  try {
    for (const p of plan) {
      // writeSync may write less than asked for very large buffers
      for (let done = 0; done < p.bytes.byteLength;) {
        done += writeSync(fd, p.bytes, done, p.bytes.byteLength - done, p.offset + done);
      }
    }
  } finally {
    closeSync(fd);
  }
  writeFileSync(modelPath, model);
  const out = { model, modelPath };
  written.set(key, out);
  return out;
}
