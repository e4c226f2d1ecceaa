// In-process fakes of the compute executors: fine-tunes that follow a script (succeed, fail with bad
// lines, crash, or wait to be released), and hosting pools that echo prompts token by token.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  ExecutorError,
  type FineTuneEvents,
  type FineTuneExecutor,
  type FineTuneOutcome,
  type FineTuneRun,
  type FineTuneSpec,
  type HostingExecutor,
  type HostingPool,
  type InferenceRequest,
  type InferenceResult,
  type PoolSpec,
  type ServedModel,
  type UnitSpec,
} from "../../src/control/index.ts";

export type Script = "succeed" | "bad-data" | "crash" | "hold";

export class FakeFineTune implements FineTuneExecutor {
  /** what the next jobs do, in order; then "succeed" */
  scripts: Script[] = [];
  readonly started: FineTuneSpec[] = [];
  private held: (() => void)[] = [];

  start(spec: FineTuneSpec, ev: FineTuneEvents): FineTuneRun {
    this.started.push(spec);
    const script = this.scripts.shift() ?? "succeed";
    let cancel!: () => void;
    const done = new Promise<FineTuneOutcome>((resolve) => {
      cancel = () => resolve({ ok: false, code: "Canceled", message: "canceled", canceled: true });
      const succeed = () => {
        for (let s = 1; s <= 4; s++) ev.onProgress({ step: s, totalSteps: 4, epoch: 1, trainLoss: 2 / s });
        ev.onLog("training done");
        mkdirSync(spec.outputDir, { recursive: true });
        writeFileSync(join(spec.outputDir, "adapter_config.json"), "{}");
        resolve({ ok: true, finalAccuracy: 0.5, finalLoss: 0.25, trainableParameters: 123 });
      };
      setImmediate(() => {
        if (script === "succeed") succeed();
        else if (script === "bad-data")
          resolve({
            ok: false,
            code: "InvalidTrainingData",
            message: "the training data is invalid",
            lines: [
              { line: 2, reason: "not JSON" },
              { line: 5, reason: "missing completion" },
            ],
          });
        else if (script === "crash")
          resolve({ ok: false, code: "WorkerCrashed", message: "the worker was killed (SIGKILL)", crashed: true });
        else this.held.push(succeed);
      });
    });
    return { done, cancel: () => cancel() };
  }

  /** jobs held, waiting for release() */
  get holding(): number {
    return this.held.length;
  }

  /** Let every held job succeed. */
  release(): void {
    for (const f of this.held.splice(0)) f();
  }
}

export class FakePool implements HostingPool {
  readonly active = new Map<string, ServedModel>();
  closed = false;

  constructor(
    readonly baseModelDir: string,
    /** the units the pool runs, as the control plane gave them */
    public units: UnitSpec[],
  ) {}

  get replicas(): number {
    return this.units.length;
  }

  async activate(id: string, m: ServedModel): Promise<void> {
    this.active.set(id, m);
  }

  async deactivate(id: string): Promise<void> {
    this.active.delete(id);
  }

  async generate(req: InferenceRequest, o: { onToken?: (d: string) => void }): Promise<InferenceResult> {
    if (!this.active.has(req.endpointId)) throw new ExecutorError(`no active model named ${req.endpointId}`, 404, "unknown_model");
    const text =
      req.prompt.kind === "text"
        ? req.prompt.text
        : req.prompt.kind === "chat"
          ? req.prompt.messages.map((m) => m.content).join(" ")
          : req.prompt.ids.join(" ");
    const words = `echo ${text}`.split(" ").slice(0, req.sampling.maxTokens);
    const pieces = words.map((w, i) => (i ? ` ${w}` : w));
    for (const p of pieces) o.onToken?.(p);
    return {
      ids: pieces.map((_, i) => i + 3),
      logprobs: pieces.map(() => -0.5),
      tokens: pieces,
      text: pieces.join(""),
      finishReason: pieces.length >= req.sampling.maxTokens ? "length" : "stop",
      promptTokens: words.length,
    };
  }

  async resize(units: UnitSpec[]): Promise<void> {
    this.units = units;
  }

  async stats() {
    return {
      replicas: this.replicas,
      queueLength: 0,
      memoryBytes: { base: 1000, ...Object.fromEntries([...this.active.keys()].map((k) => [k, 10])) },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

export class FakeHosting implements HostingExecutor {
  readonly pools = new Map<string, FakePool>();

  async startPool(spec: PoolSpec): Promise<HostingPool> {
    const p = new FakePool(spec.baseModelDir, spec.units);
    this.pools.set(spec.clusterId, p);
    return p;
  }
}

/** Poll `f` until it returns a truthy value (bounded: fails after `tries` turns of the event loop). */
export async function until<T>(
  f: () => T | Promise<T>,
  what: string,
  tries = 2000,
): Promise<Exclude<T, false | null | undefined | 0 | "">> {
  for (let i = 0; i < tries; i++) {
    const v = await f();
    if (v) return v as Exclude<T, false | null | undefined | 0 | "">;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}
