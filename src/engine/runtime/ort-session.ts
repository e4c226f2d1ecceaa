// The one module that imports onnxruntime-node: creates sessions from lowered models and runs them
// with zero-copy inputs (ort.Tensor over the caller's typed array) and optional pre-allocated outputs.

import { availableParallelism } from "node:os";
import * as ort from "onnxruntime-node";
import type { AnyTypedArray, DType } from "../ir/dtype.ts";
import type { HostTensor } from "../ir/host-tensor.ts";

export type GraphOptimizationLevel = "disabled" | "basic" | "extended" | "all";

export interface SessionOptions {
  /** threads inside one op (default: os.availableParallelism()) */
  intraOpThreads?: number;
  /** threads across independent ops; only used with `executionMode: "parallel"` */
  interOpThreads?: number;
  executionMode?: "sequential" | "parallel";
  graphOptimizationLevel?: GraphOptimizationLevel;
  /** write an ORT profile (chrome trace JSON) with this file prefix; see `endProfiling` */
  profilePrefix?: string;
  /** let ORT write the optimized model here (for inspection) */
  optimizedModelPath?: string;
  /**
   * Whether idle intra-op threads spin (default true: lowest latency for one busy session). With
   * several sessions taking turns, spinning threads of one steal the cores the next one needs.
   */
  allowSpinning?: boolean;
  /** flush denormals to zero (ORT's session.set_denormal_as_zero) */
  denormalsAsZero?: boolean;
  /**
   * ORT's CPU memory arena and memory-pattern planning (default true). Off, each run's intermediates go
   * back to the system allocator when it ends: large training graphs then peak GBs lower, and RSS stops
   * growing between runs.
   */
  memArena?: boolean;
  /**
   * ORT's memory patterns (default: as `memArena`): from the second run with the same input shapes, one
   * planned block per run instead of one allocation per tensor. Only has an effect with the arena on.
   */
  memPattern?: boolean;
}

/** ORT's session options for ours (a plain object: ort-thread.ts hands it to its worker). */
export function ortOptions(o: SessionOptions): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: ["cpu"],
    intraOpNumThreads: o.intraOpThreads ?? availableParallelism(),
    interOpNumThreads: o.interOpThreads ?? 1,
    executionMode: o.executionMode ?? "sequential",
    graphOptimizationLevel: o.graphOptimizationLevel ?? "all",
    enableCpuMemArena: o.memArena ?? true,
    enableMemPattern: o.memPattern ?? o.memArena ?? true,
    ...(o.profilePrefix ? { enableProfiling: true, profileFilePrefix: o.profilePrefix } : {}),
    ...(o.optimizedModelPath ? { optimizedModelFilePath: o.optimizedModelPath } : {}),
    extra: {
      session: {
        ...(o.allowSpinning === false ? { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } : {}),
        ...(o.denormalsAsZero ? { set_denormal_as_zero: "1" } : {}),
      },
    },
  };
}

/** What Compiled runs: a session on this thread (OrtSession) or on a worker thread (OrtThreadSession). */
export interface RunnableSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(
    feeds: Readonly<Record<string, HostTensor>>,
    outputs: readonly string[],
    into?: Readonly<Record<string, HostTensor>>,
  ): Promise<Record<string, HostTensor>>;
  endProfiling(): void;
  release(): Promise<void>;
}

export class OrtSession implements RunnableSession {
  private released = false;

  private constructor(private readonly session: ort.InferenceSession) {}

  /** `model` is serialized bytes, or a file path (external-data models). */
  static async create(model: Uint8Array | string, o: SessionOptions = {}): Promise<OrtSession> {
    const options = ortOptions(o);
    const s =
      typeof model === "string" ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
    return new OrtSession(s);
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /**
   * Runs the session. Feeds must already be validated. Outputs in `into` are written in place
   * (ORT fills the caller's array); the others are allocated by ORT and handed over.
   */
  async run(
    feeds: Readonly<Record<string, HostTensor>>,
    outputs: readonly string[],
    into: Readonly<Record<string, HostTensor>> = {},
  ): Promise<Record<string, HostTensor>> {
    if (this.released) throw new Error("session has been disposed");
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [k, t] of Object.entries(feeds)) ortFeeds[k] = toOrt(t);
    const fetches: Record<string, ort.Tensor | null> = {};
    // a shared destination cannot be handed to ORT: it gets ORT's output copied in
    const shared = (t: HostTensor | undefined) => t?.data.buffer instanceof SharedArrayBuffer;
    for (const name of outputs) fetches[name] = into[name] && !shared(into[name]) ? toOrt(into[name]) : null;
    const res = await this.session.run(ortFeeds, fetches);
    const out: Record<string, HostTensor> = {};
    for (const name of outputs) {
      const pre = into[name];
      if (pre && shared(pre)) (pre.data as Float32Array).set((res[name] as ort.Tensor).data as Float32Array);
      if (pre) out[name] = pre;
      else {
        const t = res[name] as ort.Tensor;
        out[name] = { dtype: fromOrtType(t.type), shape: [...t.dims], data: t.data as AnyTypedArray };
      }
    }
    return out;
  }

  /** Stops profiling and writes the profile file (named after `profilePrefix`). */
  endProfiling(): void {
    this.session.endProfiling();
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release();
  }
}

const ORT_TYPE: Record<DType, ort.Tensor.Type> = {
  float32: "float32",
  float16: "float16",
  int64: "int64",
  int32: "int32",
  bool: "bool",
};

function fromOrtType(t: ort.Tensor.Type): DType {
  const d = (Object.keys(ORT_TYPE) as DType[]).find((k) => ORT_TYPE[k] === t);
  if (!d) throw new Error(`onnxruntime returned an unsupported tensor type '${t}'`);
  return d;
}

/** Wraps the caller's typed array: no copy, except of SharedArrayBuffer views (ORT's binding refuses them). */
function toOrt(t: HostTensor): ort.Tensor {
  const data = t.data.buffer instanceof SharedArrayBuffer ? t.data.slice() : t.data;
  return new ort.Tensor(ORT_TYPE[t.dtype], data as ort.Tensor.DataType, t.shape);
}
