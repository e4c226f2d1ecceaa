// Models whose weights exceed protobuf's 2 GB message limit: large initializers go to one data file
// next to the model (ONNX external data), and ONNX Runtime loads the model from its path.

import { closeSync, existsSync, mkdirSync, openSync, renameSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AnyTypedArray } from "../ir/dtype.ts";
import { type ModelProto, bytesOf, onnx } from "./proto.ts";

/** initializers smaller than this stay inline */
const INLINE_BYTES = 1024;
const ALIGN = 4096;
const DATA_FILE = "weights.bin";

/**
 * Writes `<cacheDir>/<signature>/model.onnx` and its data file (once: an existing model file means
 * a complete earlier write, since it is renamed into place last). Returns the path and model bytes.
 */
export function writeExternalModel(
  proto: ModelProto,
  data: ReadonlyMap<string, AnyTypedArray>,
  signature: string,
  cacheDir = join(tmpdir(), "sprig-onnx"),
): { model: Uint8Array; modelPath: string } {
  const dir = join(cacheDir, signature);
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
  if (existsSync(modelPath)) return { model, modelPath };
  mkdirSync(dir, { recursive: true });
  const fd = openSync(join(dir, DATA_FILE), "w");
  try {
    for (const p of plan) {
      // writeSync may write less than asked for very large buffers
      for (let done = 0; done < p.bytes.byteLength; ) {
        done += writeSync(fd, p.bytes, done, p.bytes.byteLength - done, p.offset + done);
      }
    }
  } finally {
    closeSync(fd);
  }
  const tmp = `${modelPath}.${process.pid}.tmp`;
  writeFileSync(tmp, model);
  renameSync(tmp, modelPath);
  return { model, modelPath };
}
