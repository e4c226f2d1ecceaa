// compile(graph) → a runnable model: lowers to ONNX, creates (or reuses) an onnxruntime session keyed
// by the lowered model's signature and the session options, validates feeds, computes output shapes.

import { availableParallelism } from "node:os";
import type { Bindings } from "../ir/dim.ts";
import { allocTyped } from "../ir/dtype.ts";
import type { Graph } from "../ir/graph.ts";
import type { HostTensor } from "../ir/host-tensor.ts";
import { type IoSpec, type LowerOptions, type LoweredModel, lowerGraph } from "../onnx/lower.ts";
import { FeedValidator } from "./feeds.ts";
import { OrtSession, type RunnableSession, type SessionOptions } from "./ort-session.ts";
import { OrtThreadSession } from "./ort-thread.ts";
import { allocSharedTyped } from "./shared-memory.ts";

export interface CompileOptions extends SessionOptions, Omit<LowerOptions, "outputs"> {
  /** graph outputs to compute (default: all) */
  outputs?: string[];
  /**
   * where runs execute: "main" (default) on the calling thread, which ORT's node binding blocks for the
   * whole run; "worker" on a worker thread of the session's own, so the event loop stays free (feed
   * state from shared-memory.ts's allocation; `allocOutputs` then gives shared destinations)
   */
  thread?: "main" | "worker";
  /**
   * with `thread: "worker"`: niceness added to the worker and ORT's compute threads (Linux nice is per
   * thread), so the calling thread's event loop wins the cores whenever it has work (default 0)
   */
  workerNice?: number;
}

export interface RunOptions {
  /** pre-allocated destinations for some or all outputs; ORT writes into their arrays */
  outputs?: Readonly<Record<string, HostTensor>>;
}

interface CacheEntry {
  session: Promise<RunnableSession>;
  refs: number;
}

/** Live sessions by signature + options; an entry goes away when its last Compiled is disposed. */
const sessions = new Map<string, CacheEntry>();

/** Number of live cached sessions (for tests and diagnostics). */
export const liveSessionCount = (): number => sessions.size;

export class Compiled {
  readonly inputs: readonly IoSpec[];
  readonly outputs: readonly IoSpec[];
  readonly signature: string;
  private readonly outputNames: readonly string[];
  private readonly validator: FeedValidator;
  private disposed = false;

  /** Use compile(); the serialized model is not kept (ORT has its own copy). */
  constructor(
    lowered: LoweredModel,
    private readonly session: RunnableSession,
    private readonly cacheKey: string,
    /** runs on a worker thread (allocOutputs gives shared destinations the worker writes into) */
    readonly onWorker = false,
  ) {
    this.inputs = lowered.inputs;
    this.outputs = lowered.outputs;
    this.signature = lowered.signature;
    this.outputNames = lowered.outputNames;
    this.validator = new FeedValidator(lowered.inputs, lowered.outputs, lowered.dims, lowered.unusedInputs);
  }

  /** Validates feeds and returns the symbol bindings they imply. */
  bind(feeds: Readonly<Record<string, HostTensor>>): Map<string, number> {
    return this.validator.bind(feeds);
  }

  /** Concrete output shapes for these feeds (or bindings). */
  outputShapes(feedsOrBindings: Readonly<Record<string, HostTensor>> | Bindings): Record<string, number[]> {
    const env = feedsOrBindings instanceof Map ? feedsOrBindings : this.bind(feedsOrBindings as Record<string, HostTensor>);
    return this.validator.outputShapes(env);
  }

  /** Fresh zeroed destinations for every output, for `run(feeds, { outputs })`. */
  allocOutputs(feedsOrBindings: Readonly<Record<string, HostTensor>> | Bindings): Record<string, HostTensor> {
    const shapes = this.outputShapes(feedsOrBindings);
    return Object.fromEntries(
      this.outputs.map((o) => {
        const shape = shapes[o.name]!;
        return [
          o.name,
          {
            dtype: o.dtype,
            shape,
            data: (this.onWorker ? allocSharedTyped : allocTyped)(
              o.dtype,
              shape.reduce((a, b) => a * b, 1),
            ),
          },
        ];
      }),
    );
  }

  async run(feeds: Readonly<Record<string, HostTensor>>, opts: RunOptions = {}): Promise<Record<string, HostTensor>> {
    if (this.disposed) throw new Error("run: this compiled model has been disposed");
    const env = this.validator.bind(feeds);
    if (opts.outputs) this.validator.checkDestinations(opts.outputs, env);
    return this.session.run(this.validator.used(feeds), this.outputNames, opts.outputs);
  }

  /** Writes the ORT profile when compiled with `profilePrefix`. */
  endProfiling(): void {
    this.session.endProfiling();
  }

  /** Releases this handle; the session is released when no other handle shares it. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const e = sessions.get(this.cacheKey);
    if (!e || --e.refs > 0) return;
    sessions.delete(this.cacheKey);
    await this.session.release();
  }
}

export async function compile(graph: Graph, opts: CompileOptions = {}): Promise<Compiled> {
  const lowered = lowerGraph(graph, opts);
  const sessionOpts: SessionOptions = {
    // defaults resolved here so that equal settings, spelled or not, share a session
    intraOpThreads: opts.intraOpThreads ?? availableParallelism(),
    interOpThreads: opts.interOpThreads ?? 1,
    executionMode: opts.executionMode ?? "sequential",
    graphOptimizationLevel: opts.graphOptimizationLevel ?? "all",
    profilePrefix: opts.profilePrefix,
    optimizedModelPath: opts.optimizedModelPath,
    allowSpinning: opts.allowSpinning ?? true,
    denormalsAsZero: opts.denormalsAsZero ?? false,
    memArena: opts.memArena ?? true,
    memPattern: opts.memPattern ?? opts.memArena ?? true,
  };
  const thread = opts.thread ?? "main";
  const nice = thread === "worker" ? (opts.workerNice ?? 0) : 0;
  const key = `${lowered.signature}|${JSON.stringify(sessionOpts)}|${thread}|${nice}`;
  let entry = sessions.get(key);
  if (!entry) {
    // the model bytes are only serialized on a cache miss
    const session =
      thread === "worker"
        ? OrtThreadSession.create(lowered.modelPath ?? lowered.model, sessionOpts, nice)
        : OrtSession.create(lowered.modelPath ?? lowered.model, sessionOpts);
    entry = { session, refs: 0 };
    sessions.set(key, entry);
    session.catch(() => sessions.delete(key));
  }
  entry.refs++;
  try {
    return new Compiled(lowered, await entry.session, key, thread === "worker");
  } catch (e) {
    entry.refs--;
    throw e;
  }
}
