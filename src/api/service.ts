// The whole service on one data directory: store, control plane (with worker-process executors unless
// given others), HTTP server. `close()` shuts down in order: stop accepting, drain, stop workers, close the DB.

import type { FastifyInstance } from "fastify";
import {
  ControlPlane,
  type ControlConfigInput,
  type FineTuneExecutor,
  type HostingExecutor,
  type LocalNodeSettings,
  type Logger,
  type MultiNodeSettings,
  type NodeLossHooks,
  RemoteHosting,
  type SprigStore,
  type WeightFormat,
} from "../control/index.ts";
import { Store } from "../store/index.ts";
import { Metrics, type MetricsOptionsInput } from "./metrics.ts";
import { type ServerOptionsInput, buildServer } from "./server.ts";

type MultiNodeSettingsInput = Partial<MultiNodeSettings>;

export interface ServiceOptions {
  dataDir: string;
  /** a PostgreSQL URL (postgres://…) for the control-plane state; default: the data directory's SQLite file */
  database?: string;
  /** the shared artifacts directory (models, adapters, checkpoints, training data) every node reaches; default: under dataDir */
  artifactsDir?: string;
  /** how the default executors' hosting workers store the base projections (default f32; see docs/hosting.md) */
  hostingWeights?: WeightFormat;
  /** compute executors; the worker-process ones by default */
  executors?: { fineTune: FineTuneExecutor; hosting: HostingExecutor };
  control?: ControlConfigInput;
  server?: ServerOptionsInput;
  /** what /metrics labels (it is served only once `listenMetrics` is called) */
  metrics?: MetricsOptionsInput;
  /** the embedded node's capacity (default: this machine's cores and memory, pinned where possible) */
  node?: LocalNodeSettings;
  /**
   * An API node of a multi-node service (needs `database`): hosting runs on the registered worker nodes,
   * reached with the node secret; silent nodes are declared lost after settings.nodeTimeoutMs.
   */
  multiNode?: { secret: string; settings?: MultiNodeSettingsInput; hooks?: NodeLossHooks };
}

export interface Service {
  app: FastifyInstance;
  control: ControlPlane;
  store: SprigStore;
  /** listen on host:port (port 0 = any free port); returns the base URL */
  listen(port: number, host?: string): Promise<string>;
  /** serve Prometheus metrics on a listener of their own (opt-in; port 0 = any free port); returns the /metrics URL */
  listenMetrics(port: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

export async function startService(o: ServiceOptions): Promise<Service> {
  const store = (await Store.open(o.dataDir, {
    ...(o.database === undefined ? {} : { database: o.database }),
    ...(o.artifactsDir === undefined ? {} : { artifactsDir: o.artifactsDir }),
  })) as SprigStore;
  const metrics = new Metrics(o.metrics);
  const compute = o.executors ? null : await import("../control/index.ts");
  // PostgreSQL: fine-tunes go through the job queue; SQLite: local workers
  const queued = compute && o.database !== undefined ? await compute.queuedFineTunes(store) : null;
  const executors = o.executors ?? {
    ...compute!.processExecutors({ hostingWeights: o.hostingWeights }),
    ...(queued ? { fineTune: queued.executor } : {}),
  };
  let multiNode;
  if (o.multiNode) {
    if (o.database === undefined) throw new Error("an API node of several machines needs the shared PostgreSQL database (--database)");
    const remote = new RemoteHosting({ nodes: store.nodes, secret: o.multiNode.secret });
    executors.hosting = remote;
    multiNode = {
      settings: o.multiNode.settings,
      hooks: {
        nodeLost: (id: string) => remote.nodeLost(id),
        runningUnits: (id: string) => remote.unitsOf(id),
        // the lost node's fine-tunes go to the nodes now holding their units, which resume from the checkpoint
        ...(compute
          ? { requeueJobsOfNode: (id: string) => compute.requeueJobsOfNode(id, { store, log: app.log as unknown as Logger }) }
          : {}),
        ...o.multiNode.hooks,
      },
    };
  }
  const control = new ControlPlane({ store, ...executors, config: o.control, counters: metrics, log: undefined, node: o.node, multiNode });
  const app = await buildServer(control, metrics, o.server);
  control.setLogger(app.log as unknown as Logger);
  await control.start();
  // an API node is not a node: its fine-tunes run on the worker nodes (`sprig node start`)
  if (!o.multiNode) await queued?.consume(app.log as unknown as Logger);
  let closed = false;
  const listeners: { close(): Promise<void> }[] = [];
  return {
    app,
    control,
    store,
    async listen(port, host = "127.0.0.1") {
      await app.listen({ port, host });
      const addr = app.server.address();
      return `http://${host}:${typeof addr === "object" && addr ? addr.port : port}`;
    },
    async listenMetrics(port, host = "127.0.0.1") {
      const l = await metrics.listen(port, host);
      listeners.push(l);
      return l.url;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const l of listeners) await l.close();
      await app.close();
      await control.close();
      await queued?.close();
      await store.close();
    },
  };
}
