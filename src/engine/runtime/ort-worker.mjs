// Worker-thread entry of ort-thread.ts: holds one onnxruntime session and runs it off the main event loop.
// Plain JS (no tsx in worker threads started under `register()`). Feeds arrive as copies (small arrays), as
// views of untracked SharedArrayBuffers (copied here, since ORT refuses shared memory), or as views of
// tracked buffers mirrored here, into which only the ranges written since the last run are copied.

import { setPriority } from "node:os";
import { parentPort } from "node:worker_threads";
import * as ort from "onnxruntime-node";

/** @type {ort.InferenceSession | null} */
let session = null;
/** tracked buffer id → { sab, mirror } (the mirror is an ordinary ArrayBuffer ORT can read) */
const mirrors = new Map();
/** worker-owned output buffers by name, dtype and length, reused across runs */
const outs = new Map();

const ARRAYS = { float32: Float32Array, float16: Uint16Array, int64: BigInt64Array, int32: Int32Array, bool: Uint8Array };

function sync(s) {
  let m = mirrors.get(s.id);
  if (s.full) {
    m = { sab: s.sab, mirror: new ArrayBuffer(s.sab.byteLength) };
    new Uint8Array(m.mirror).set(new Uint8Array(s.sab));
    mirrors.set(s.id, m);
    return;
  }
  if (!m) throw new Error(`ort worker: no mirror of shared buffer ${s.id}`);
  const r = s.ranges;
  for (let i = 0; i < r.length; i += 2) {
    const n = r[i + 1] - r[i];
    new Uint8Array(m.mirror, r[i], n).set(new Uint8Array(m.sab, r[i], n));
  }
}

/** A feed as an array ORT accepts. */
function feedArray(f) {
  const A = ARRAYS[f.dtype];
  if (f.kind === "mirror") return new A(mirrors.get(f.id).mirror, f.byteOffset, f.length);
  if (f.kind === "shared") return new A(f.data); // copies the shared view
  return f.data;
}

function outArray(name, dtype, n) {
  const key = `${name}|${dtype}|${n}`;
  let a = outs.get(key);
  if (!a) {
    if (outs.size >= 32) outs.delete(outs.keys().next().value);
    a = new ARRAYS[dtype](n);
  } else outs.delete(key);
  outs.set(key, a);
  return a;
}

async function run(m) {
  for (const s of m.sync) sync(s);
  const feeds = {};
  for (const f of m.feeds) feeds[f.name] = new ort.Tensor(f.dtype, feedArray(f), f.shape);
  const fetches = {};
  const local = {};
  for (const name of m.outputs) {
    const d = m.into[name];
    if (d) {
      local[name] = outArray(
        name,
        d.dtype,
        d.shape.reduce((a, b) => a * b, 1),
      );
      fetches[name] = new ort.Tensor(d.dtype, local[name], d.shape);
    } else fetches[name] = null;
  }
  const res = await session.run(feeds, fetches);
  const out = {};
  for (const name of m.outputs) {
    const d = m.into[name];
    if (d?.data)
      d.data.set(local[name]); // into the caller's shared destination
    else if (d)
      out[name] = { dtype: d.dtype, shape: d.shape, data: local[name] }; // copied by postMessage
    else {
      const t = res[name];
      out[name] = { dtype: t.type, shape: [...t.dims], data: t.data };
    }
  }
  return out;
}

async function handle(m) {
  try {
    if (m.op === "create") {
      // nice is per thread on Linux and ORT's pool threads, made by this create, inherit this thread's
      if (m.nice > 0) setPriority(0, m.nice);
      session = await ort.InferenceSession.create(m.model, m.options);
      parentPort.postMessage({ id: m.id, ok: { inputNames: session.inputNames, outputNames: session.outputNames } });
    } else if (m.op === "run") parentPort.postMessage({ id: m.id, ok: await run(m) });
    else if (m.op === "forget") for (const id of m.ids) mirrors.delete(id);
    else if (m.op === "profile") session?.endProfiling();
    else if (m.op === "release") {
      await session?.release();
      session = null;
      mirrors.clear();
      outs.clear();
      parentPort.postMessage({ id: m.id, ok: true }); // the caller then terminates this thread
    }
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: { name: e?.name ?? "Error", message: e?.message ?? String(e) } });
  }
}

// one message at a time: a run's mirror updates must not land while an earlier run is reading them
let chain = Promise.resolve();
parentPort.on("message", (m) => {
  chain = chain.then(() => handle(m));
});
