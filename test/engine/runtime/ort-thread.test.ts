// Sessions on a worker thread (compile({thread: "worker"})): the same outputs as a session on this thread
// for plain, shared and tracked feeds, tracked state mirrored incrementally (only what markWritten reports),
// errors from inside ORT propagate, the event loop turns during a run, release ends the worker.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Graph } from "../../../src/engine/ir/graph.ts";
import type { HostTensor } from "../../../src/engine/ir/host-tensor.ts";
import * as op from "../../../src/engine/ir/ops.ts";
import { compile } from "../../../src/engine/runtime/compile.ts";
import { liveWorkerCount } from "../../../src/engine/runtime/ort-thread.ts";
import { markWritten, sharedFloat32, trackedFloat32 } from "../../../src/engine/runtime/shared-memory.ts";

/** table: (R, 8), idx: (B), x: (B, 8) → y = table[idx] * x + x @ w (B, 8); w: (8, 8) */
function build(): Graph {
  const g = new Graph();
  const table = g.input("table", "float32", ["R", 8]);
  const idx = g.input("idx", "int64", ["B"]);
  const x = g.input("x", "float32", ["B", 8]);
  const w = g.input("w", "float32", [8, 8]);
  g.output("y", op.add(op.mul(op.gather(table, idx, 0), x), op.matmul(x, w)));
  return g;
}

const fill = (a: Float32Array, f: (i: number) => number) => {
  for (let i = 0; i < a.length; i++) a[i] = f(i);
  return a;
};

function feeds(table: Float32Array, x: Float32Array, w: Float32Array, idx: number[]): Record<string, HostTensor> {
  return {
    table: { dtype: "float32", shape: [table.length / 8, 8], data: table },
    idx: { dtype: "int64", shape: [idx.length], data: BigInt64Array.from(idx, BigInt) },
    x: { dtype: "float32", shape: [x.length / 8, 8], data: x },
    w: { dtype: "float32", shape: [8, 8], data: w },
  };
}

describe("ORT sessions on a worker thread", () => {
  it("give the outputs of a session on this thread, for plain, shared and tracked feeds", async () => {
    const main = await compile(build());
    const worker = await compile(build(), { thread: "worker" });
    try {
      const plain = feeds(
        fill(new Float32Array(40), (i) => Math.sin(i)),
        fill(new Float32Array(24), (i) => i / 7),
        fill(new Float32Array(64), (i) => Math.cos(i)),
        [4, 0, 2],
      );
      const want = (await main.run(plain)).y!.data;
      const shared = {
        ...plain,
        table: { ...plain.table!, data: fill(trackedFloat32(40), (i) => Math.sin(i)) },
        x: { ...plain.x!, data: fill(sharedFloat32(24), (i) => i / 7) },
      };
      assert.deepEqual((await worker.run(plain)).y!.data, want);
      assert.deepEqual((await worker.run(shared)).y!.data, want);
      // shared pre-allocated destinations are written by the worker; so are plain ones (copied back)
      const into = worker.allocOutputs(shared);
      assert.ok(into.y!.data.buffer instanceof SharedArrayBuffer);
      await worker.run(shared, { outputs: into });
      assert.deepEqual(into.y!.data, want);
      const plainInto = main.allocOutputs(plain);
      await worker.run(shared, { outputs: plainInto });
      assert.deepEqual(plainInto.y!.data, want);
      // a main-thread session takes shared feeds and destinations too (copied for ORT)
      const mainInto = worker.allocOutputs(shared);
      await main.run(shared, { outputs: mainInto });
      assert.deepEqual(mainInto.y!.data, want);
    } finally {
      await main.dispose();
      await worker.dispose();
    }
  });

  it("mirrors a tracked feed: only the writes markWritten reports reach the worker", async () => {
    const worker = await compile(build(), { thread: "worker" });
    const main = await compile(build());
    try {
      const table = fill(trackedFloat32(40), (i) => i);
      const f = feeds(table, new Float32Array(16).fill(1), new Float32Array(64), [1, 3]);
      const y0 = (await worker.run(f)).y!.data as Float32Array;
      assert.deepEqual([...y0.subarray(0, 8)], [8, 9, 10, 11, 12, 13, 14, 15]);
      // row 1 rewritten and reported (through a view): the worker sees it
      const row1 = table.subarray(8, 16);
      row1.fill(-2);
      markWritten(row1);
      // row 3 rewritten without a report: the worker still has the old row (this is what tracking buys)
      table.fill(5, 24, 32);
      const y1 = (await worker.run(f)).y!.data as Float32Array;
      assert.deepEqual([...y1.subarray(0, 8)], Array(8).fill(-2));
      assert.deepEqual([...y1.subarray(8, 16)], [24, 25, 26, 27, 28, 29, 30, 31]);
      // once reported, it does; a main-thread session always reads the array itself
      markWritten(table, 24, 8);
      const want = (await main.run(f)).y!.data;
      assert.deepEqual((await worker.run(f)).y!.data, want);
      assert.deepEqual([...(want as Float32Array).subarray(8, 16)], Array(8).fill(5));
    } finally {
      await worker.dispose();
      await main.dispose();
    }
  });

  it("rejects with ORT's error, and keeps serving", async () => {
    const main = await compile(build());
    const worker = await compile(build(), { thread: "worker" });
    try {
      const bad = feeds(new Float32Array(16), new Float32Array(8), new Float32Array(64), [9]); // index 9 of 2 rows
      const mainErr = await main.run(bad).then(
        () => null,
        (e: Error) => e.message,
      );
      assert.ok(mainErr, "the main-thread session rejects the out-of-range index");
      await assert.rejects(worker.run(bad), (e: Error) => e.message === mainErr);
      const ok = feeds(new Float32Array(16).fill(1), new Float32Array(8).fill(1), new Float32Array(64), [1]);
      assert.deepEqual([...(await worker.run(ok)).y!.data], Array(8).fill(1));
    } finally {
      await main.dispose();
      await worker.dispose();
    }
  });

  it("leaves the event loop free during a run", async () => {
    const g = new Graph();
    let x = g.input("x", "float32", [256, 256]);
    for (let i = 0; i < 40; i++) x = op.matmul(x, x);
    g.output("y", x);
    const worker = await compile(g, { thread: "worker" });
    try {
      const f = { x: { dtype: "float32" as const, shape: [256, 256], data: new Float32Array(256 * 256).fill(1e-3) } };
      let resolved = false;
      const run = worker.run(f).then(() => (resolved = true));
      // a callback queued after the call runs before the run resolves: nothing blocked this thread
      const sawLoop = await new Promise<boolean>((r) => setImmediate(() => r(!resolved)));
      await run;
      assert.equal(sawLoop, true);
    } finally {
      await worker.dispose();
    }
  });

  it("ends the worker on release; runs afterwards are refused", async () => {
    const before = liveWorkerCount();
    const worker = await compile(build(), { thread: "worker" });
    assert.equal(liveWorkerCount(), before + 1);
    await worker.dispose();
    assert.equal(liveWorkerCount(), before);
    await assert.rejects(worker.run(feeds(new Float32Array(8), new Float32Array(8), new Float32Array(64), [0])), /disposed/);
  });
});
