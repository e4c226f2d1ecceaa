// The processes of a multi-node test, each a real `sprig` (niced): an API node (`sprig serve --role api`)
// and worker nodes (`sprig node start`), all on one PostgreSQL database and one shared artifacts directory,
// each with its own data directory; short heartbeat and loss timeouts through their flags.

import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";

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
