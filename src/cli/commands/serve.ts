// `sprig serve`: the service (HTTP API, SQLite store and artifacts under --data-dir, worker processes),
// with the bundled base model registered when it exists. Ctrl-C / SIGTERM shut down gracefully.

import type { Command } from "commander";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { startService } from "../../api/service.ts";
import { REPO_ROOT } from "../default-model.ts";
import { parseNumber } from "../parse.ts";

export const DEFAULT_DATA_DIR = "sprig-data";
export const DEFAULT_PORT = 8080;

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("run the Sprig service: management, object storage, OCI-style and OpenAI-compatible inference APIs")
    .option("--port <p>", "HTTP port (0 = any free port)", String(DEFAULT_PORT))
    .option("--host <addr>", "address to listen on", "127.0.0.1")
    .option("--data-dir <dir>", "database, artifacts and uploaded data", DEFAULT_DATA_DIR)
    .option("--endpoint-capacity <n>", "endpoints per hosting cluster", "50")
    .option("--rate-limit <n>", "requests per second per API key (burst 4x)", "50")
    .option("--quiet", "log warnings and errors only")
    .action(async (f: { port: string; host: string; dataDir: string; endpointCapacity: string; rateLimit: string; quiet?: boolean }) => {
      const port = parseNumber(f.port, "--port", { int: true, min: 0, max: 65535 });
      const perSecond = parseNumber(f.rateLimit, "--rate-limit", { min: 0.001 });
      const base = join(REPO_ROOT, "models", "sprig-base");
      const svc = await startService({
        dataDir: resolve(f.dataDir),
        control: {
          endpointCapacityPerCluster: parseNumber(f.endpointCapacity, "--endpoint-capacity", { int: true, min: 1 }),
          defaultBaseModelDir: existsSync(join(base, "config.json")) ? base : null,
        },
        server: { logger: { level: f.quiet ? "warn" : "info" }, rateLimit: { perSecond, burst: Math.max(1, Math.ceil(perSecond * 4)) } },
      });
      const url = await svc.listen(port, f.host);
      svc.app.log.info({ url, console: `${url}/console`, dataDir: resolve(f.dataDir) }, "sprig is serving");
      let stopping = false;
      const stop = (sig: string) => {
        if (stopping) return;
        stopping = true;
        svc.app.log.info({ signal: sig }, "shutting down");
        void svc.close().then(() => process.exit(0));
      };
      process.on("SIGINT", () => stop("SIGINT"));
      process.on("SIGTERM", () => stop("SIGTERM"));
    });
}
