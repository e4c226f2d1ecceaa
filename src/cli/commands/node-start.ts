// `sprig node start`: a worker node of a multi-node service. It joins by pointing at the shared PostgreSQL
// database, registers its capacity and internal address, heartbeats, runs the hosting units API nodes place
// on it (worker processes pinned to their cores, as `sprig serve` does) and serves their inference on its
// internal listener, authenticated with the node secret. Ctrl-C / SIGTERM stop it (its units move after the timeout).

import type { Command } from "commander";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { buildNodeListener } from "../../api/index.ts";
import {
  type Logger,
  NodeAgent,
  type NodeService,
  type SprigStore,
  localNode,
  parseCpuList,
  processExecutors,
  readNodeSecret,
  startFineTuneConsumer,
} from "../../control/index.ts";
import { redactUrl } from "../../store/index.ts";
import { ARTIFACTS_DIR_FLAG, ARTIFACTS_DIR_HELP, openStore, withDatabaseOption } from "../database-flag.ts";
import { CliError } from "../errors.ts";
import { parseNumber } from "../parse.ts";

export const DEFAULT_NODE_DATA_DIR = "sprig-node-data";
export const DEFAULT_NODE_LISTEN = "127.0.0.1:8090";

/**
 * The services a worker node runs beside its hosting pools, started once it is registered: the fine-tune
 * consumer, which claims the jobs queued for this node (units of FINE_TUNING clusters reserved here) and runs
 * them as pinned worker processes, checkpoints in the shared artifacts directory. Stopping it (SIGTERM) stops
 * the runs after their checkpoint and hands their jobs back to the queue.
 */
export function nodeServices(o: { store: SprigStore; artifactsDir: string; log: () => Logger }): NodeService[] {
  return [
    {
      name: "fine-tune consumer",
      start: ({ nodeId }) => startFineTuneConsumer({ store: o.store, nodeId, artifactsDir: o.artifactsDir, log: o.log() }),
    },
  ];
}

/** The node's id: --node-id, else the one kept in its data directory (made once: node-HOST-RANDOM). */
function nodeId(dataDir: string, given: string | undefined): string {
  if (given !== undefined) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(given))
      throw new CliError(`--node-id: '${given}' must be 1-63 letters, digits, '.', '_' or '-' (starting with a letter or digit)`);
    return given;
  }
  const file = join(dataDir, "node-id");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  const id = `node-${
    hostname()
      .replace(/[^A-Za-z0-9-]/g, "")
      .slice(0, 40) || "host"
  }-${randomBytes(3).toString("hex")}`;
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${id}\n`);
  return id;
}

function parseListen(text: string): { host: string; port: number } {
  const m = /^(.+):(\d{1,5})$/.exec(text);
  if (!m) throw new CliError(`--listen: '${text}' is not host:port (e.g. 10.0.0.5:8090)`);
  return { host: m[1]!.replace(/^\[(.*)\]$/, "$1"), port: parseNumber(m[2]!, "--listen port", { int: true, min: 0, max: 65535 }) };
}

export function registerNodeStart(node: Command): void {
  withDatabaseOption(node.command("start"))
    .description("run a worker node: join the service's PostgreSQL database, register this machine's capacity, run the units placed here")
    .option("--data-dir <dir>", "this node's own directory (its id)", DEFAULT_NODE_DATA_DIR)
    .option(ARTIFACTS_DIR_FLAG, ARTIFACTS_DIR_HELP)
    .option("--listen <host:port>", "the internal listener API nodes send inference to (port 0 = any free port)", DEFAULT_NODE_LISTEN)
    .option("--advertise <url>", "the listener's address as API nodes reach it (default: http://HOST:PORT of --listen)")
    .option("--node-id <id>", "the node's id (default: one made once and kept in --data-dir)")
    .option("--name <name>", "the node's name for people (default: the host name)")
    .option("--node-secret-file <file>", "the shared node secret (default: $SPRIG_NODE_SECRET)")
    .option("--heartbeat <seconds>", "time between heartbeats (API nodes' --node-timeout must be several of these)", "3")
    .option("--cores <list>", "CPU ids units may reserve, e.g. 0-3 or 2,3 (default: every CPU this process may use)")
    .option("--memory <GiB>", "memory units may reserve, in GiB (default: the machine's)")
    .option("--no-pinning", "do not pin unit processes to their reserved cores (they are still reserved and accounted)")
    .option("--quiet", "log warnings and errors only")
    .action(
      async (f: {
        database?: string;
        dataDir: string;
        artifactsDir?: string;
        listen: string;
        advertise?: string;
        nodeId?: string;
        name?: string;
        nodeSecretFile?: string;
        heartbeat: string;
        cores?: string;
        memory?: string;
        pinning: boolean;
        quiet?: boolean;
      }) => {
        let secret: string;
        try {
          secret = readNodeSecret(f.nodeSecretFile);
        } catch (e) {
          throw new CliError((e as Error).message);
        }
        if ((f.database ?? process.env.SPRIG_DATABASE_URL) === undefined)
          throw new CliError(
            "a worker node joins through the service's PostgreSQL database: pass --database postgres://… (or set SPRIG_DATABASE_URL)",
          );
        const listen = parseListen(f.listen);
        const heartbeatMs = Math.round(parseNumber(f.heartbeat, "--heartbeat", { min: 0.1, max: 600 }) * 1000);
        const cores = f.cores === undefined ? undefined : parseCpuList(f.cores);
        if (cores === null || cores?.length === 0) throw new CliError(`--cores: '${f.cores}' is not a CPU list (e.g. 0-3 or 0,2)`);
        const memoryBytes = f.memory === undefined ? undefined : Math.floor(parseNumber(f.memory, "--memory", { min: 0.125 }) * 1024 ** 3);
        const dataDir = resolve(f.dataDir);
        const id = nodeId(dataDir, f.nodeId);
        const store = await openStore({ dataDir, database: f.database, artifactsDir: f.artifactsDir });
        let capacity;
        try {
          capacity = { ...localNode({ cores, memoryBytes, pinning: f.pinning, ...(f.name ? { name: f.name } : {}) }), id };
        } catch (e) {
          await store.close();
          throw new CliError((e as Error).message);
        }
        const hosting = processExecutors().hosting;
        const agent = new NodeAgent({
          registry: store.nodes,
          node: capacity,
          hosting,
          heartbeatIntervalMs: heartbeatMs,
          log: { info() {}, warn() {}, error() {} },
          services: nodeServices({ store, artifactsDir: store.paths.artifacts, log: () => app.log as unknown as Logger }),
        });
        const app = await buildNodeListener(agent, secret, { logger: { level: f.quiet ? "warn" : "info" } });
        agent.setLogger(app.log);
        await app.listen({ port: listen.port, host: listen.host });
        const addr = app.server.address();
        const port = typeof addr === "object" && addr ? addr.port : listen.port;
        const address = f.advertise ?? `http://${listen.host.includes(":") ? `[${listen.host}]` : listen.host}:${port}`;
        const row = await agent.start(address);
        app.log.info(
          {
            nodeId: row.id,
            address,
            cores: row.cores,
            memoryBytes: row.memoryBytes,
            pinning: row.pinning,
            artifactsDir: store.paths.artifacts,
            database: redactUrl(f.database ?? process.env.SPRIG_DATABASE_URL ?? ""),
          },
          "sprig node is running",
        );
        let stopping = false;
        const stop = (sig: string) => {
          if (stopping) return;
          stopping = true;
          app.log.info({ signal: sig }, "node shutting down");
          void (async () => {
            await app.close();
            await agent.close();
            await store.close();
            process.exit(0);
          })();
        };
        process.on("SIGINT", () => stop("SIGINT"));
        process.on("SIGTERM", () => stop("SIGTERM"));
      },
    );
}
