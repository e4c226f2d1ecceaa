// The processes of a multi-node test, each a real `sprig` (niced): API nodes (`sprig serve --role api`)
// and worker nodes (`sprig node start`), all on one PostgreSQL database and one shared artifacts directory,
// each with its own data directory; short heartbeat and loss timeouts through their flags. `startNodes`
// starts a whole set at once (as an operator's machines would come up) with keys made in the database.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SprigStore } from "../../src/control/index.ts";
import { Store } from "../../src/store/index.ts";

const BIN = join(process.cwd(), "bin/sprig.mjs");
export const NODE_SECRET = "multi-node-test-secret-0123456789abcdef";

export interface Proc {
  child: ChildProcess;
  /** everything it logged so far */
  log(): string;
}

/** Spawn `sprig ARGS` at the lowest priority and wait for a log line matching `ready`; resolves with its match. */
function start(args: string[], ready: RegExp, what: string): Promise<{ proc: Proc; m: RegExpExecArray }> {
  const child = spawn("nice", ["-n", "19", process.execPath, BIN, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, SPRIG_NODE_SECRET: NODE_SECRET },
  });
  let buf = "";
  const proc: Proc = { child, log: () => buf };
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      buf += d.toString();
      const m = ready.exec(buf);
      if (m) resolve({ proc, m });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code, signal) => reject(new Error(`${what} exited early (${signal ?? code}):\n${buf.slice(-3000)}`)));
  });
}

export async function apiNode(o: { database: string; dataDir: string; artifactsDir: string; importRoot: string }) {
  const { proc, m } = await start(
    [
      "serve",
      "--role",
      "api",
      "--port",
      "0",
      "--database",
      o.database,
      "--data-dir",
      o.dataDir,
      "--artifacts-dir",
      o.artifactsDir,
      "--import-root",
      o.importRoot,
      "--node-timeout",
      "3",
    ],
    /"url":"(http:[^"]+)"[^\n]*sprig is serving/,
    "the API node",
  );
  return { ...proc, url: m[1]! };
}

export async function workerNode(o: { database: string; dataDir: string; artifactsDir: string; id: string }) {
  const { proc } = await start(
    [
      "node",
      "start",
      "--database",
      o.database,
      "--data-dir",
      o.dataDir,
      "--artifacts-dir",
      o.artifactsDir,
      "--listen",
      "127.0.0.1:0",
      "--node-id",
      o.id,
      "--heartbeat",
      "0.5",
      // one unit each (1 core); the two nodes share this machine, so their units are not pinned
      "--cores",
      "0",
      "--memory",
      "4",
      "--no-pinning",
    ],
    /sprig node is running/,
    `worker node ${o.id}`,
  );
  return { ...proc, id: o.id };
}

export const kill = (p: Proc, signal: NodeJS.Signals = "SIGKILL") =>
  new Promise<void>((res) => {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return res();
    p.child.once("exit", () => res());
    p.child.kill(signal);
  });

export type ApiNode = Awaited<ReturnType<typeof apiNode>>;
export type WorkerNode = Awaited<ReturnType<typeof workerNode>>;

export interface NodeSet {
  apis: ApiNode[];
  workers: WorkerNode[];
  /** the shared artifacts directory */
  artifactsDir: string;
  /** an API key of compartment compA, and an admin key */
  key: string;
  admin: string;
}

/**
 * Start `apis` API nodes and the worker nodes `workers` (ids) on `database`, all at once, each with a data
 * directory of its own and one shared artifacts directory; every process started is pushed to `procs`
 * (so the caller's cleanup kills them even when a later one fails to start).
 */
export async function startNodes(o: {
  database: string;
  apis?: number;
  workers: string[];
  importRoot: string;
  procs: Proc[];
}): Promise<NodeSet> {
  const tmp = (p: string) => mkdtempSync(join(tmpdir(), p));
  const artifactsDir = tmp("sprig-mn-artifacts-");
  // the keys live in the shared database: any API node accepts them
  const s = (await Store.open(tmp("sprig-mn-keys-"), { database: o.database, artifactsDir })) as SprigStore;
  const key = (await s.apiKeys.create(["compA"])).key;
  const admin = (await s.apiKeys.create(["compA"], "operator", { admin: true })).key;
  await s.close();
  const started = <T extends Proc>(p: Promise<T>) => p.then((x) => (o.procs.push(x), x));
  const [workers, apis] = await Promise.all([
    Promise.all(o.workers.map((id) => started(workerNode({ database: o.database, dataDir: tmp(`sprig-mn-${id}-`), artifactsDir, id })))),
    Promise.all(
      Array.from({ length: o.apis ?? 1 }, (_, i) =>
        started(apiNode({ database: o.database, dataDir: tmp(`sprig-mn-api${i}-`), artifactsDir, importRoot: o.importRoot })),
      ),
    ),
  ]);
  return { apis, workers, artifactsDir, key, admin };
}
