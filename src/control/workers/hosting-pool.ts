// A hosting cluster as worker processes, one replica per reserved unit (pinned to the unit's cores, its
// thread pool and KV cache sized to the unit): every replica loads the base model and every active endpoint;
// requests go to the replica with the fewest in flight. A replica that dies is replaced on the same unit
// and its endpoints re-activated; the requests it held fail with 503 so clients retry.

import type { ChildProcess } from "node:child_process";
import {
  type EmbedRequest,
  type EmbedResult,
  ExecutorError,
  type HostingPool,
  type InferenceRequest,
  type InferenceResult,
  type PoolSpec,
  type PoolStats,
  type ServedModel,
  type UnitSpec,
} from "../executors.ts";
import type { WeightFormat } from "../../models/index.ts";
import { memoryBudget } from "../shapes.ts";
import type { HostingCommand, HostingReport, WireError } from "./messages.ts";
import { forkWorker } from "./fork.ts";
import { watch } from "./watchdog.ts";

/** A pool as the process executor starts it: the control plane's spec plus how its workers are watched. */
export interface PoolProcessSpec extends PoolSpec {
  /** a replica silent this long (no heartbeat) is killed and replaced (default 60 s) */
  heartbeatTimeoutMs?: number;
  /** more Node flags for the workers */
  execArgv?: readonly string[];
  /** how the replicas store the base projections (the hosting engine's `weights`; default f32) */
  weights?: WeightFormat;
  /** called once close() has stopped every replica (the executor forgets the pool) */
  onClosed?: () => void;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  onToken?: (t: string) => void;
}

/** A command without its id (distributes over the union, unlike Omit). */
type Command = Extract<HostingCommand, { id: number }> extends infer T ? (T extends unknown ? Omit<T, "id"> : never) : never;

const fromWire = (e: WireError): Error => new ExecutorError(e.message, e.status ?? 500, e.reason ?? e.name);

class Replica {
  private nextId = 1;
  readonly pending = new Map<number, Pending>();
  dead = false;

  private constructor(
    readonly child: ChildProcess,
    readonly unit: UnitSpec,
  ) {}

  static async start(spec: PoolProcessSpec, unit: UnitSpec, onExit: (r: Replica) => void): Promise<Replica> {
    const { baseModelDir } = spec;
    const budget = memoryBudget(unit.memoryBytes);
    const r = new Replica(
      forkWorker("./hosting-worker.ts", { cores: unit.pin ? unit.cores : null, heapMb: budget.heapMb }, spec.execArgv),
      unit,
    );
    const dog = watch(r.child, spec.heartbeatTimeoutMs ?? 60_000, () => undefined);
    await new Promise<void>((resolve, reject) => {
      r.child.on("message", (m: HostingReport) => {
        if (m.type === "ready") resolve();
        else if (m.type === "init-failed") reject(fromWire(m.error));
        else if (m.type === "token") r.pending.get(m.id)?.onToken?.(m.text);
        else if (m.type === "result") {
          const p = r.pending.get(m.id);
          r.pending.delete(m.id);
          if (m.error) p?.reject(fromWire(m.error));
          else p?.resolve(m.value);
        }
      });
      r.child.on("exit", (code, signal) => {
        r.dead = true;
        const how = dog.hung ? "stopped responding (no heartbeat) and was killed" : `exited (${signal ?? `code ${code}`})`;
        const why = new ExecutorError(`the hosting worker ${how}; retry`, 503, dog.hung ? "worker_hung" : "worker_exited");
        for (const p of r.pending.values()) p.reject(why);
        r.pending.clear();
        reject(why);
        onExit(r);
      });
      r.child.on("error", (e) => reject(new ExecutorError(`the hosting worker could not start: ${e.message}`, 503, "worker_start_failed")));
      r.child.send({
        type: "init",
        baseModelDir,
        threads: unit.cores.length,
        kvCacheBytes: budget.kvCacheBytes,
        weights: spec.weights ?? "f32",
      } satisfies HostingCommand);
    });
    return r;
  }

  call<T>(cmd: Command, onToken?: (t: string) => void, signal?: AbortSignal): Promise<T> {
    if (this.dead) return Promise.reject(new ExecutorError("the hosting worker is gone; retry", 503, "worker_exited"));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onToken });
      this.child.send({ ...cmd, id } as HostingCommand);
      signal?.addEventListener("abort", () => this.child.connected && this.child.send({ type: "cancel", id } satisfies HostingCommand), {
        once: true,
      });
    });
  }

  kill(): void {
    this.dead = true;
    this.child.kill("SIGKILL");
  }
}

export class HostingPoolProcess implements HostingPool {
  private replicas: Replica[] = [];
  private readonly served = new Map<string, ServedModel>();
  private closing = false;

  private constructor(private readonly spec: PoolProcessSpec) {}

  static async start(spec: PoolProcessSpec): Promise<HostingPoolProcess> {
    const p = new HostingPoolProcess(spec);
    try {
      await p.resize(spec.units);
    } catch (e) {
      await p.close();
      throw e;
    }
    return p;
  }

  private async spawn(unit: UnitSpec): Promise<Replica> {
    const r = await Replica.start(this.spec, unit, (dead) => this.replaced(dead));
    for (const [id, m] of this.served) await r.call({ type: "activate", endpointId: id, model: m });
    return r;
  }

  /** A replica died: drop it and start another with the same endpoints (unless the pool is closing). */
  private replaced(dead: Replica): void {
    const i = this.replicas.indexOf(dead);
    if (i < 0 || this.closing) return;
    this.replicas.splice(i, 1);
    void this.spawn(dead.unit).then(
      (r) => (this.closing ? r.kill() : this.replicas.push(r)),
      () => undefined,
    );
  }

  async activate(endpointId: string, model: ServedModel): Promise<void> {
    this.served.set(endpointId, model);
    await Promise.all(this.replicas.map((r) => r.call({ type: "activate", endpointId, model })));
  }

  async deactivate(endpointId: string, o: { cancelInFlight: boolean }): Promise<void> {
    this.served.delete(endpointId);
    await Promise.all(
      this.replicas.map((r) => r.call({ type: "deactivate", endpointId, cancelInFlight: o.cancelInFlight }).catch(() => undefined)),
    );
  }

  generate(req: InferenceRequest, o: { onToken?: (delta: string) => void; signal?: AbortSignal }): Promise<InferenceResult> {
    const live = this.replicas.filter((r) => !r.dead);
    if (!live.length)
      return Promise.reject(new ExecutorError("no hosting worker is running (restarting); retry shortly", 503, "no_replica"));
    const r = live.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    return r.call<InferenceResult>(
      { type: "generate", endpointId: req.endpointId, prompt: req.prompt, sampling: req.sampling },
      o.onToken,
      o.signal,
    );
  }

  embed(req: EmbedRequest): Promise<EmbedResult> {
    const live = this.replicas.filter((r) => !r.dead);
    if (!live.length)
      return Promise.reject(new ExecutorError("no hosting worker is running (restarting); retry shortly", 503, "no_replica"));
    const r = live.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    return r.call<EmbedResult>({ type: "embed", ...req });
  }

  async resize(units: UnitSpec[]): Promise<void> {
    const keep = new Set(units.map((u) => u.index));
    for (const r of this.replicas.filter((x) => !keep.has(x.unit.index))) {
      this.replicas.splice(this.replicas.indexOf(r), 1);
      await r.call({ type: "close" }).catch(() => undefined);
      r.kill();
    }
    const have = new Set(this.replicas.map((r) => r.unit.index));
    const add = await Promise.all(units.filter((u) => !have.has(u.index)).map((u) => this.spawn(u)));
    this.replicas.push(...add);
  }

  async stats(): Promise<PoolStats> {
    const all = await Promise.all(this.replicas.map((r) => r.call<PoolStats>({ type: "stats" }).catch(() => null)));
    const ok = all.filter((s): s is PoolStats => s !== null);
    const memoryBytes: Record<string, number> = {};
    // every replica holds the same models: report one replica's figures (multiply by replicas for the total)
    Object.assign(memoryBytes, ok[0]?.memoryBytes ?? {});
    return { replicas: this.replicas.length, queueLength: ok.reduce((s, x) => s + x.queueLength, 0), memoryBytes };
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.replicas.map((r) => r.call({ type: "close" }).catch(() => undefined)));
    for (const r of this.replicas) r.kill();
    this.replicas = [];
    this.spec.onClosed?.();
  }

  /** pids of the replicas (tests use them) */
  get pids(): number[] {
    return this.replicas.map((r) => r.child.pid!).filter(Boolean);
  }
}
