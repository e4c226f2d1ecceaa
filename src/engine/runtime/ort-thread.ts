// A session on a worker thread of its own (ort-worker.mjs): `run` posts the feeds and awaits, so the main
// event loop stays free while ORT computes (the node binding's run is synchronous on its calling thread).
// Shared feeds travel without a copy on this thread (shared-memory.ts); small plain ones are cloned.

import { Worker } from "node:worker_threads";
import type { HostTensor } from "../ir/host-tensor.ts";
import { type RunnableSession, type SessionOptions, ortOptions } from "./ort-session.ts";
import { registerConsumer, syncOf, unregisterConsumer } from "./shared-memory.ts";

const WORKER = new URL("./ort-worker.mjs", import.meta.url);

let live = 0;
/** ORT worker threads alive (for tests: release must end them). */
export const liveWorkerCount = (): number => live;

type FeedSpec =
  | { name: string; dtype: string; shape: number[]; kind: "mirror"; id: number; byteOffset: number; length: number }
  | { name: string; dtype: string; shape: number[]; kind: "shared" | "copy"; data: HostTensor["data"] };

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

export class OrtThreadSession implements RunnableSession {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private dead: Error | null = null;
  private released = false;
  /** tracked buffers this worker mirrors (so a collected one is forgotten there too) */
  private readonly known = new Set<number>();
  private readonly consumer: number;

  private constructor(
    private readonly worker: Worker,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
    consumer: number,
  ) {
    this.consumer = consumer;
  }

  /** `model` is serialized bytes (transferred when it owns its buffer: the caller must not reuse it) or a file path. */
  /** `nice` (> 0) lowers the worker's and its compute threads' scheduling priority (Linux: per thread). */
  static async create(model: Uint8Array | string, o: SessionOptions = {}, nice = 0): Promise<OrtThreadSession> {
    const worker = new Worker(WORKER);
    live++;
    worker.once("exit", () => live--);
    worker.unref(); // idle workers never keep the process alive; a call in flight refs it
    let self: OrtThreadSession | null = null;
    const early: Pending[] = [];
    const fail = (e: Error) => {
      if (self) self.die(e);
      for (const p of early.splice(0)) p.reject(e);
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`ORT worker exited (code ${code})`)));
    const names = await new Promise<{ inputNames: string[]; outputNames: string[] }>((resolve, reject) => {
      early.push({ resolve: resolve as (v: unknown) => void, reject });
      worker.once("message", (m: { ok?: { inputNames: string[]; outputNames: string[] }; error?: { message: string } }) => {
        early.length = 0;
        if (m.error) reject(new Error(m.error.message));
        else resolve(m.ok!);
      });
      const owns = typeof model !== "string" && model.byteOffset === 0 && model.byteLength === model.buffer.byteLength;
      worker.ref();
      worker.postMessage(
        { op: "create", id: 0, model, options: ortOptions(o), nice },
        owns && model.buffer instanceof ArrayBuffer ? [model.buffer] : [],
      );
    }).catch(async (e: Error) => {
      await worker.terminate();
      throw e;
    });
    worker.unref();
    const consumer = registerConsumer((id) => self?.forget(id));
    self = new OrtThreadSession(worker, names.inputNames, names.outputNames, consumer);
    worker.on("message", (m: { id: number; ok?: unknown; error?: { name: string; message: string } }) => self!.settle(m));
    return self;
  }

  async run(
    feeds: Readonly<Record<string, HostTensor>>,
    outputs: readonly string[],
    into: Readonly<Record<string, HostTensor>> = {},
  ): Promise<Record<string, HostTensor>> {
    if (this.released) throw new Error("session has been disposed");
    const sync: Array<{ id: number; full: boolean; ranges: Float64Array; sab?: SharedArrayBuffer }> = [];
    const seen = new Set<SharedArrayBuffer>();
    const specs: FeedSpec[] = [];
    for (const [name, t] of Object.entries(feeds)) {
      const buf = t.data.buffer;
      const base = { name, dtype: t.dtype, shape: t.shape };
      if (!(buf instanceof SharedArrayBuffer)) {
        specs.push({ ...base, kind: "copy", data: t.data });
        continue;
      }
      const s = seen.has(buf) ? { id: this.idOf(buf)!, full: false, ranges: null } : syncOf(buf, this.consumer);
      if (!s) {
        specs.push({ ...base, kind: "shared", data: t.data });
        continue;
      }
      if (!seen.has(buf)) {
        seen.add(buf);
        this.ids.set(buf, s.id);
        this.known.add(s.id);
        sync.push({ id: s.id, full: s.full, ranges: s.ranges!, ...(s.full ? { sab: buf } : {}) });
      }
      specs.push({ ...base, kind: "mirror", id: s.id, byteOffset: t.data.byteOffset, length: t.data.length });
    }
    const dest: Record<string, { dtype: string; shape: number[]; data: HostTensor["data"] | null }> = {};
    for (const [name, t] of Object.entries(into))
      dest[name] = { dtype: t.dtype, shape: t.shape, data: t.data.buffer instanceof SharedArrayBuffer ? t.data : null };
    const res = (await this.call({ op: "run", feeds: specs, outputs, into: dest, sync })) as Record<string, HostTensor>;
    const out: Record<string, HostTensor> = {};
    for (const name of outputs) {
      const pre = into[name];
      if (pre && !dest[name]!.data) (pre.data as Float32Array).set(res[name]!.data as Float32Array);
      out[name] = pre ?? res[name]!;
    }
    return out;
  }

  /** tracked buffer → its id, for buffers fed more than once in one run */
  private readonly ids = new WeakMap<SharedArrayBuffer, number>();
  private idOf(buf: SharedArrayBuffer): number | undefined {
    return this.ids.get(buf);
  }

  endProfiling(): void {
    if (!this.dead && !this.released) this.worker.postMessage({ op: "profile" });
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    unregisterConsumer(this.consumer);
    if (this.dead) return;
    try {
      await this.call({ op: "release" });
    } catch {
      // the worker is gone: nothing to release
    }
    this.worker.ref(); // until it has exited
    await this.worker.terminate();
  }

  private forget(id: number): void {
    if (!this.known.delete(id) || this.dead || this.released) return;
    this.worker.postMessage({ op: "forget", ids: [id] });
  }

  private call(msg: Record<string, unknown>): Promise<unknown> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ ...msg, id });
    });
  }

  private settle(m: { id: number; ok?: unknown; error?: { name: string; message: string } }): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (this.pending.size === 0) this.worker.unref();
    if (m.error) p.reject(Object.assign(new Error(m.error.message), { name: m.error.name }));
    else p.resolve(m.ok);
  }

  private die(e: Error): void {
    if (this.dead) return;
    this.dead = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
