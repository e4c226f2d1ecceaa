// A PostgreSQL server for tests: DATABASE_URL when set (a server the caller runs, e.g. CI's), else a
// throwaway cluster of this machine's PostgreSQL binaries (initdb into a temporary directory, started on
// a free port of 127.0.0.1, trust auth, removed at exit). initdb refuses to run as root, so under root the
// cluster belongs to the `postgres` user (Debian's package creates it) or `nobody`. Each caller gets a
// fresh database of its own. Without binaries or DATABASE_URL, `skipReason` says why tests skip.

import { spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

export interface PostgresServer {
  /** a URL of a new, empty database on the server */
  newDatabase(): Promise<string>;
  stop(): Promise<void>;
}

/** The binaries directory: pg_config's, else the newest /usr/lib/postgresql/N/bin with initdb and pg_ctl. */
function binDir(): string | null {
  const has = (d: string) => existsSync(join(d, "initdb")) && existsSync(join(d, "pg_ctl"));
  const cfg = spawnSync("pg_config", ["--bindir"], { encoding: "utf8" });
  if (cfg.status === 0 && has(cfg.stdout.trim())) return cfg.stdout.trim();
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (has(join(root, v, "bin"))) return join(root, v, "bin");
  return null;
}

/** uid and gid of a local user, from /etc/passwd. */
function user(name: string): { uid: number; gid: number } | null {
  try {
    const line = readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .find((l) => l.startsWith(`${name}:`));
    const f = line?.split(":");
    return f && f[2] && f[3] ? { uid: Number(f[2]), gid: Number(f[3]) } : null;
  } catch {
    return null;
  }
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (typeof a === "object" && a ? resolve(a.port) : reject(new Error("no port"))));
    });
  });

/** Why PostgreSQL tests cannot run here, or null when they can. */
export function skipReason(): string | null {
  if (process.env.DATABASE_URL) return null;
  if (!binDir())
    return "PostgreSQL tests skipped: no PostgreSQL server binaries (initdb, pg_ctl) found and DATABASE_URL is not set; install Debian's postgresql package or point DATABASE_URL at a server";
  return null;
}

let dbCounter = 0;

function serverOn(adminUrl: string, stop: () => Promise<void>): PostgresServer {
  return {
    async newDatabase() {
      const name = `sprig_test_${process.pid}_${++dbCounter}_${Date.now().toString(36)}`;
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      const u = new URL(adminUrl);
      u.pathname = `/${name}`;
      return u.toString();
    },
    stop,
  };
}

/** Start (or connect to) the server. Call `skipReason()` first. */
export async function startPostgres(): Promise<PostgresServer> {
  if (process.env.DATABASE_URL) return serverOn(process.env.DATABASE_URL, async () => {});
  const bin = binDir()!;
  const dir = mkdtempSync(join(tmpdir(), "sprig-pg-"));
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? (user("postgres") ?? user("nobody")) : null;
  if (asRoot && !owner) throw new Error("running as root and neither a postgres nor a nobody user exists to own the test cluster");
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const as = owner ? { uid: owner.uid, gid: owner.gid } : {};
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(join(bin, cmd), args, { ...as, encoding: "utf8", cwd: dir, env: { ...process.env, LC_ALL: "C" } });
    if (r.status !== 0) throw new Error(`${cmd} failed (exit ${r.status}): ${r.error?.message ?? ""}${r.stderr}${r.stdout}`);
  };
  const data = join(dir, "data");
  run("initdb", ["-D", data, "-U", "sprig", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"]);
  const port = await freePort();
  // fsync off: a test cluster need not survive a power cut, and fsyncs are most of its cost
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
  run("pg_ctl", ["-D", data, "-l", join(dir, "server.log"), "-o", opts, "-w", "-t", "60", "start"]);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    spawnSync(join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"], { ...as, stdio: "ignore" });
    rmSync(dir, { recursive: true, force: true });
  };
  // a test process that exits without calling stop() must not leave a server behind
  process.once("exit", () => {
    if (!stopped) spawnSync(join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "stop"], { ...as, stdio: "ignore" });
  });
  return serverOn(`postgres://sprig@127.0.0.1:${port}/postgres`, stop);
}
