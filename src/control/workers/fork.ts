// Starting a TypeScript worker process: tsx is loaded into the child the same way bin/sprig.mjs loads
// the CLI, so no build step is needed. The IPC channel carries the typed messages of messages.ts.
// A unit's worker is pinned to its reserved cores by starting it under util-linux's `taskset -c`, so
// every thread it ever creates (ONNX Runtime's pool included) inherits the affinity, and its V8 heap is
// capped by the unit's memory budget.

import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { cpuList } from "../placement.ts";

export interface WorkerPlacement {
  /** pin the process to these CPUs (null: run wherever the OS puts it) */
  cores: readonly number[] | null;
  /** V8 old-space limit in MiB (null: Node's default) */
  heapMb: number | null;
}

/** `execArgv`: more Node flags for the worker (tests preload fault injection this way). */
export function forkWorker(
  file: string,
  at: WorkerPlacement = { cores: null, heapMb: null },
  execArgv: readonly string[] = [],
): ChildProcess {
  const path = fileURLToPath(new URL(file, import.meta.url));
  const node = [...(at.heapMb ? [`--max-old-space-size=${at.heapMb}`] : []), "--import", import.meta.resolve("tsx"), ...execArgv];
  const opts = { stdio: ["ignore", "inherit", "inherit", "ipc"] as ("ignore" | "inherit" | "ipc")[], serialization: "advanced" as const };
  // fork runs `execPath ...execArgv path`: with taskset as execPath, taskset execs node on the cores, and
  // the IPC channel (passed in the environment) reaches node unchanged
  if (at.cores?.length)
    return fork(path, [], { ...opts, execPath: "taskset", execArgv: ["-c", cpuList(at.cores), process.execPath, ...node] });
  return fork(path, [], { ...opts, execArgv: node });
}
