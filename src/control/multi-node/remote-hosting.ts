// The API node's hosting executor for several machines: a cluster's pool is the set of worker nodes that hold
// its units, reached over the internal API (node secret). Each node runs its share of the units as local
// worker processes; requests go to the node with the fewest in flight (tokens streamed back line by line,
// cancelled when the caller's signal fires). A node that cannot be reached, or that is declared lost while a
// request runs, fails the request with a 503 to retry; a node that restarted (it holds no pool) is set up again.

import {
  type EmbedRequest,
  type EmbedResult,
  ExecutorError,
  type HostingExecutor,
  type HostingPool,
  type InferenceRequest,
  type InferenceResult,
  type PoolSpec,
  type PoolStats,
  type ServedModel,
  type UnitSpec,
} from "../executors.ts";
import type { NodeRow } from "../../store/index.ts";
import { authorization } from "./secret.ts";
import { NO_POOL, WireErrorSchema, nodePaths } from "./protocol.ts";

/** Where nodes are registered (the store's NodeRepo). */
export interface NodeDirectory {
  get(id: string): Promise<NodeRow | null>;
}

export interface RemoteHostingOptions {
  nodes: NodeDirectory;
  secret: string;
  /** how long a control call (start a pool, load a model) may take before the node counts as unreachable */
  controlTimeoutMs?: number;
}

const lostError = (nodeId: string, why: string) =>
  new ExecutorError(
    `node ${nodeId} ${why} while the request ran; retry (the cluster's units are placed on another node)`,
    503,
    "node_lost",
  );

export class RemoteHosting implements HostingExecutor {
  /** the running pools by cluster id (the node-loss monitor reads their units) */
  readonly pools = new Map<string, RemotePool>();
  private readonly inFlight = new Map<string, Set<AbortController>>();

  constructor(readonly o: RemoteHostingOptions) {}

  async startPool(spec: PoolSpec): Promise<HostingPool> {
    const p = new RemotePool(this, spec.clusterId, spec.baseModelDir);
    try {
      await p.resize(spec.units);
    } catch (e) {
      await p.close();
      throw e;
    }
    this.pools.set(spec.clusterId, p);
    return p;
  }

  /** The units a running pool holds (null: no pool for the cluster here). */
  unitsOf(clusterId: string): UnitSpec[] | null {
    return this.pools.get(clusterId)?.units ?? null;
  }

  /** A node was declared lost: every request in flight to it fails now with a 503 (it may never answer). */
  nodeLost(nodeId: string): void {
    for (const ac of this.inFlight.get(nodeId) ?? []) ac.abort(lostError(nodeId, "was declared lost (no heartbeat)"));
  }

  private async address(nodeId: string): Promise<string> {
    const n = await this.o.nodes.get(nodeId);
    if (!n?.address) throw new ExecutorError(`node ${nodeId} is not registered with an address`, 503, "node_unknown");
    return n.address;
  }

  /**
   * One call to a node's internal API. A 2xx answer's body is handed to `read` (JSON lines for a stream);
   * anything else becomes the node's error, rebuilt. Counts as in flight to the node until `read` is done.
   */
  async call<T>(
    nodeId: string,
    method: string,
    path: string,
    body: unknown,
    o: { signal?: AbortSignal; timeoutMs?: number; read?: (res: Response) => Promise<T> } = {},
  ): Promise<T> {
    const ac = new AbortController();
    const track = this.inFlight.get(nodeId) ?? new Set();
    this.inFlight.set(nodeId, track);
    track.add(ac);
    const { signal } = o;
    const onAbort = () => ac.abort(signal!.reason);
    if (signal?.aborted) ac.abort(signal.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    // generations have no time limit (a lost node's are aborted by nodeLost); control calls do
    const limit = o.timeoutMs ?? (signal ? null : (this.o.controlTimeoutMs ?? 300_000));
    const timeout = limit === null ? null : setTimeout(() => ac.abort(lostError(nodeId, "did not answer in time")), limit);
    try {
      const res = await fetch(`${await this.address(nodeId)}${path}`, {
        method,
        headers: { authorization: authorization(this.o.secret), ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: ac.signal,
      });
      if (!res.ok) throw await errorOf(nodeId, res);
      return o.read ? await o.read(res) : ((await res.json()) as T);
    } catch (e) {
      throw this.failure(nodeId, ac.signal, e);
    } finally {
      track.delete(ac);
      signal?.removeEventListener("abort", onAbort);
      if (timeout) clearTimeout(timeout);
    }
  }

  /** Why a call failed: the node's own error, the node declared lost, the caller's cancellation, or a node that cannot be reached. */
  private failure(nodeId: string, signal: AbortSignal, e: unknown): Error {
    if (e instanceof ExecutorError) return e;
    if (signal.aborted) {
      const r: unknown = signal.reason;
      if (r instanceof ExecutorError) return r;
      return new ExecutorError("the request was cancelled (the client went away)", 499, "client_closed");
    }
    return new ExecutorError(`node ${nodeId} cannot be reached (${(e as Error).message}); retry shortly`, 503, "node_unreachable");
  }
}

async function errorOf(nodeId: string, res: Response): Promise<ExecutorError> {
  const text = await res.text().catch(() => "");
  if (res.status === 401)
    return new ExecutorError(
      `node ${nodeId} refused the node secret (401): every API and worker node must share the same SPRIG_NODE_SECRET`,
      503,
      "node_auth_failed",
    );
  let parsed: unknown = null;
  try {
    parsed = (JSON.parse(text) as { error?: unknown }).error;
  } catch {
    // not the node's JSON (a proxy in between?): fall through
  }
  const w = WireErrorSchema.safeParse(parsed);
  if (w.success) return new ExecutorError(w.data.message, w.data.status, w.data.reason);
  return new ExecutorError(
    `node ${nodeId} answered ${res.status}: ${text.slice(0, 200)}`,
    res.status >= 500 ? 503 : res.status,
    "node_error",
  );
}

/** The lines of a streamed answer, as parsed JSON objects. */
async function* lines(res: Response): AsyncGenerator<Record<string, unknown>> {
  if (!res.body) return;
  const decoder = new TextDecoder();
  let buf = "";
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (line) yield JSON.parse(line) as Record<string, unknown>;
    }
  }
}

class RemotePool implements HostingPool {
  units: UnitSpec[] = [];
  private readonly served = new Map<string, ServedModel>();
  /** nodes whose share of the units is up with every served model */
  private readonly ready = new Set<string>();
  private readonly load = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly remote: RemoteHosting,
    readonly clusterId: string,
    readonly baseModelDir: string,
  ) {}

  private nodesOf(units: readonly UnitSpec[]): Map<string, UnitSpec[]> {
    const m = new Map<string, UnitSpec[]>();
    for (const u of units) m.set(u.nodeId, [...(m.get(u.nodeId) ?? []), u]);
    return m;
  }

  /** Start (or resize) this cluster's pool on a node and load every served model there. */
  private async setUp(nodeId: string, units: UnitSpec[]): Promise<void> {
    this.ready.delete(nodeId);
    await this.remote.call(nodeId, "PUT", nodePaths.pool(this.clusterId), { baseModelDir: this.baseModelDir, units });
    const done = new Set<string>();
    // an endpoint activated while this ran is loaded too
    for (let pending = [...this.served]; pending.length; pending = [...this.served].filter(([id]) => !done.has(id))) {
      for (const [endpointId, model] of pending) {
        await this.remote.call(nodeId, "POST", nodePaths.activate(this.clusterId), { endpointId, model });
        done.add(endpointId);
      }
    }
    if (!this.closed) this.ready.add(nodeId);
  }

  async resize(units: UnitSpec[]): Promise<void> {
    const want = this.nodesOf(units);
    for (const nodeId of this.nodesOf(this.units).keys()) {
      if (want.has(nodeId)) continue;
      this.ready.delete(nodeId);
      // a lost node may never answer: its pool is dropped when it finds itself declared lost
      void this.remote.call(nodeId, "DELETE", nodePaths.pool(this.clusterId), undefined, { timeoutMs: 5_000 }).catch(() => undefined);
    }
    await Promise.all([...want].map(([nodeId, us]) => this.setUp(nodeId, us)));
    // only once every node is up: a resize that failed is tried again by the next node-loss check
    this.units = units;
  }

  async activate(endpointId: string, model: ServedModel): Promise<void> {
    this.served.set(endpointId, model);
    await Promise.all([...this.ready].map((n) => this.remote.call(n, "POST", nodePaths.activate(this.clusterId), { endpointId, model })));
  }

  async deactivate(endpointId: string, o: { cancelInFlight: boolean }): Promise<void> {
    this.served.delete(endpointId);
    await Promise.all(
      [...this.ready].map((n) =>
        this.remote
          .call(n, "POST", nodePaths.deactivate(this.clusterId), { endpointId, cancelInFlight: o.cancelInFlight })
          .catch(() => undefined),
      ),
    );
  }

  /** The ready node with the fewest requests in flight from here. */
  private pick(): string {
    const ready = [...this.ready];
    if (!ready.length)
      throw new ExecutorError(
        `no node is serving cluster ${this.clusterId} right now (its units are being placed or loaded); retry shortly`,
        503,
        "no_node",
      );
    return ready.reduce((a, b) => ((this.load.get(b) ?? 0) < (this.load.get(a) ?? 0) ? b : a));
  }

  private async onNode<T>(f: (nodeId: string) => Promise<T>): Promise<T> {
    const nodeId = this.pick();
    this.load.set(nodeId, (this.load.get(nodeId) ?? 0) + 1);
    try {
      return await f(nodeId);
    } catch (e) {
      // the node restarted and lost its pool: set it up again (its units are still reserved there), then retry once
      if (!(e instanceof ExecutorError && e.reason === NO_POOL) || this.closed) throw e;
      const mine = this.units.filter((u) => u.nodeId === nodeId);
      if (!mine.length) throw e;
      await this.setUp(nodeId, mine);
      return await f(nodeId);
    } finally {
      this.load.set(nodeId, (this.load.get(nodeId) ?? 1) - 1);
    }
  }

  generate(req: InferenceRequest, o: { onToken?: (delta: string) => void; signal?: AbortSignal }): Promise<InferenceResult> {
    return this.onNode((nodeId) =>
      this.remote.call(nodeId, "POST", nodePaths.generate(this.clusterId), req, {
        signal: o.signal ?? new AbortController().signal,
        read: async (res) => {
          for await (const m of lines(res)) {
            if (typeof m.token === "string") o.onToken?.(m.token);
            else if (m.result) return m.result as InferenceResult;
            else if (m.error) {
              const w = WireErrorSchema.safeParse(m.error);
              throw w.success
                ? new ExecutorError(w.data.message, w.data.status, w.data.reason)
                : new ExecutorError(`node ${nodeId} sent an unreadable error`, 503, "node_error");
            }
          }
          throw lostError(nodeId, "closed the connection");
        },
      }),
    );
  }

  embed(req: EmbedRequest): Promise<EmbedResult> {
    return this.onNode((nodeId) =>
      this.remote.call<EmbedResult>(nodeId, "POST", nodePaths.embed(this.clusterId), req, { signal: new AbortController().signal }),
    );
  }

  async stats(): Promise<PoolStats> {
    const all = await Promise.all(
      [...this.ready].map((n) =>
        this.remote.call<PoolStats>(n, "GET", nodePaths.stats(this.clusterId), undefined, { timeoutMs: 10_000 }).catch(() => null),
      ),
    );
    const ok = all.filter((s): s is PoolStats => s !== null);
    return {
      replicas: ok.reduce((s, x) => s + x.replicas, 0),
      queueLength: ok.reduce((s, x) => s + x.queueLength, 0),
      memoryBytes: { ...(ok[0]?.memoryBytes ?? {}) },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    const nodes = [...this.nodesOf(this.units).keys()];
    this.ready.clear();
    if (this.remote.pools.get(this.clusterId) === this) this.remote.pools.delete(this.clusterId);
    await Promise.all(
      nodes.map((n) =>
        this.remote.call(n, "DELETE", nodePaths.pool(this.clusterId), undefined, { timeoutMs: 10_000 }).catch(() => undefined),
      ),
    );
  }
}
