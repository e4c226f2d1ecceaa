// `sprig serve`: the service (HTTP API, store — SQLite under --data-dir, or PostgreSQL with --database — and
// artifacts under --data-dir or the shared --artifacts-dir, worker processes),
// with the bundled base model registered when it exists. Ctrl-C / SIGTERM shut down gracefully.

import type { Command } from "commander";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { startService } from "../../api/index.ts";
import { REPO_ROOT } from "../default-model.ts";
import { parseCpuList, readNodeSecret } from "../../control/index.ts";
import { redactUrl } from "../../store/index.ts";
import { ARTIFACTS_DIR_FLAG, ARTIFACTS_DIR_HELP, databaseUrl, withDatabaseOption } from "../database-flag.ts";
import { CliError } from "../errors.ts";
import { parseNumber } from "../parse.ts";
import { WEIGHTS_HELP, weightFormatFlag } from "./host.ts";

export const DEFAULT_DATA_DIR = "sprig-data";
export const DEFAULT_PORT = 8080;

export function registerServe(program: Command): void {
  withDatabaseOption(program.command("serve"))
    .description("run the Sprig service: management, object storage, OCI-style and OpenAI-compatible inference APIs")
    .option("--port <p>", "HTTP port (0 = any free port)", String(DEFAULT_PORT))
    .option("--host <addr>", "address to listen on", "127.0.0.1")
    .option("--data-dir <dir>", "database, artifacts and uploaded data", DEFAULT_DATA_DIR)
    .option(ARTIFACTS_DIR_FLAG, ARTIFACTS_DIR_HELP)
    .option("--endpoint-capacity <n>", "endpoints per hosting cluster", "50")
    .option("--rate-limit <n>", "requests per second per API key (burst 4x)", "50")
    .option(
      "--import-root <dir>",
      "a directory whose models API keys may import (HUGGING_FACE_DIRECTORY); repeat for several; none: imports from this machine's disk are refused",
      (d: string, all: string[]) => [...all, resolve(d)],
      [] as string[],
    )
    .option(
      "--metrics-port <p>",
      "serve Prometheus metrics at /metrics on this port (off by default; no key is asked: keep it on a private address)",
    )
    .option("--metrics-host <addr>", "address of the metrics listener", "127.0.0.1")
    .option("--metrics-per-tenant", "label metrics by endpoint and cluster id (every tenant's ids); by default they are totals")
    .option("--cores <list>", "CPU ids cluster units may reserve, e.g. 0-3 or 2,3 (default: every CPU this process may use)")
    .option("--memory <GiB>", "memory cluster units may reserve, in GiB (default: the machine's)")
    .option("--no-pinning", "do not pin unit processes to their reserved cores (they are still reserved and accounted)")
    .option(
      "--content-blocklist <file>",
      "terms (one a line; # comments) that endpoints with contentModerationConfig flag: INFORM reports them, BLOCK refuses",
    )
    .option(
      "--role <role>",
      "all: this process is the API and the one node (embedded); api: an API node of several machines (needs --database postgres://…), units run on `sprig node start` worker nodes",
      "all",
    )
    .option("--node-timeout <seconds>", "--role api: a worker node silent this long is declared lost and its units placed elsewhere", "15")
    .option("--node-secret-file <file>", "--role api: the shared node secret (default: $SPRIG_NODE_SECRET)")
    .option("--hosting-weights <format>", `hosting cluster workers: ${WEIGHTS_HELP}`, "f32")
    .option("--quiet", "log warnings and errors only")
    .action(
      async (f: {
        port: string;
        host: string;
        dataDir: string;
        artifactsDir?: string;
        database?: string;
        endpointCapacity: string;
        rateLimit: string;
        importRoot: string[];
        metricsPort?: string;
        metricsHost: string;
        metricsPerTenant?: boolean;
        cores?: string;
        memory?: string;
        pinning: boolean;
        contentBlocklist?: string;
        role: string;
        nodeTimeout: string;
        nodeSecretFile?: string;
        quiet?: boolean;
        hostingWeights: string;
      }) => {
        const port = parseNumber(f.port, "--port", { int: true, min: 0, max: 65535 });
        const perSecond = parseNumber(f.rateLimit, "--rate-limit", { min: 0.001 });
        const base = join(REPO_ROOT, "models", "sprig-base");
        const cores = f.cores === undefined ? undefined : parseCpuList(f.cores);
        if (cores === null || cores?.length === 0) throw new CliError(`--cores: '${f.cores}' is not a CPU list (e.g. 0-3 or 0,2)`);
        const memory = f.memory === undefined ? undefined : Math.floor(parseNumber(f.memory, "--memory", { min: 0.125 }) * 1024 ** 3);
        const database = databaseUrl(f);
        const blocklist = f.contentBlocklist === undefined ? [] : readBlocklist(f.contentBlocklist);
        const multiNode = apiRole(f, database);
        const hostingWeights = weightFormatFlag(f.hostingWeights, "--hosting-weights");
        const svc = await startService({
          dataDir: resolve(f.dataDir),
          hostingWeights,
          ...(database === undefined ? {} : { database }),
          ...(f.artifactsDir === undefined ? {} : { artifactsDir: resolve(f.artifactsDir) }),
          control: {
            endpointCapacityPerCluster: parseNumber(f.endpointCapacity, "--endpoint-capacity", { int: true, min: 1 }),
            defaultBaseModelDir: existsSync(join(base, "config.json")) ? base : null,
            modelImportRoots: f.importRoot,
          },
          metrics: { perTenant: f.metricsPerTenant === true },
          node: { cores, memoryBytes: memory, pinning: f.pinning },
          ...(multiNode ? { multiNode } : {}),
          server: {
            logger: { level: f.quiet ? "warn" : "info" },
            rateLimit: { perSecond, burst: Math.max(1, Math.ceil(perSecond * 4)) },
            contentModeration: { blocklist },
          },
        });
        const url = await svc.listen(port, f.host);
        const metricsUrl =
          f.metricsPort === undefined
            ? null
            : await svc.listenMetrics(parseNumber(f.metricsPort, "--metrics-port", { int: true, min: 0, max: 65535 }), f.metricsHost);
        svc.app.log.info(
          {
            url,
            console: `${url}/console`,
            dataDir: resolve(f.dataDir),
            artifactsDir: svc.store.paths.artifacts,
            database: database === undefined ? "sqlite" : redactUrl(database),
            role: f.role,
            ...(metricsUrl ? { metrics: metricsUrl } : {}),
          },
          "sprig is serving",
        );
        let stopping = false;
        const stop = (sig: string) => {
          if (stopping) return;
          stopping = true;
          svc.app.log.info({ signal: sig }, "shutting down");
          void svc.close().then(() => process.exit(0));
        };
        process.on("SIGINT", () => stop("SIGINT"));
        process.on("SIGTERM", () => stop("SIGTERM"));
      },
    );
}

/** `--role api`: the node secret and the loss timeout of an API node (null for the embedded role `all`). */
function apiRole(
  f: { role: string; nodeTimeout: string; nodeSecretFile?: string },
  database: string | undefined,
): { secret: string; settings: { nodeTimeoutMs: number } } | null {
  if (f.role === "all") return null;
  if (f.role !== "api") throw new CliError(`--role: '${f.role}' is not a role: use all (embedded, the default) or api`);
  if (database === undefined)
    throw new CliError(
      "--role api: API and worker nodes share their state in PostgreSQL: pass --database postgres://… (or set SPRIG_DATABASE_URL)",
    );
  let secret: string;
  try {
    secret = readNodeSecret(f.nodeSecretFile);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const nodeTimeoutMs = Math.round(parseNumber(f.nodeTimeout, "--node-timeout", { min: 1, max: 3600 }) * 1000);
  return { secret, settings: { nodeTimeoutMs } };
}

/** The blocklist file: one term or phrase a line; blank lines and lines starting with # are skipped. */
function readBlocklist(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new CliError(`--content-blocklist: cannot read ${file}: ${(e as Error).message}`);
  }
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
}
