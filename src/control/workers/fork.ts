// Starting a TypeScript worker process: tsx is loaded into the child the same way bin/sprig.mjs loads
// the CLI, so no build step is needed. The IPC channel carries the typed messages of messages.ts.

import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";

/** `execArgv`: more Node flags for the worker (tests preload fault injection this way). */
export function forkWorker(file: string, execArgv: readonly string[] = []): ChildProcess {
  const path = fileURLToPath(new URL(file, import.meta.url));
  return fork(path, [], { execArgv: ["--import", import.meta.resolve("tsx"), ...execArgv], stdio: ["ignore", "inherit", "inherit", "ipc"], serialization: "advanced" });
}
