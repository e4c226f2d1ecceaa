// Worker liveness: every worker sends a heartbeat each HEARTBEAT_MS; a worker silent for longer than the
// timeout (hung in a loop, stopped, swapped out) is killed with SIGKILL, so its exit goes down the crash
// path (a fine-tune resumes from its checkpoint, a hosting replica is replaced).

import type { ChildProcess } from "node:child_process";

/** How often workers say they are alive. */
export const HEARTBEAT_MS = 1000;

/** Start sending heartbeats from this (worker) process; the timer never keeps the process alive. */
export function sendHeartbeats(): void {
  const beat = () => process.connected && process.send?.({ type: "heartbeat" });
  beat();
  setInterval(beat, HEARTBEAT_MS).unref();
}

export interface Watchdog {
  /** true once the worker was killed for missing heartbeats */
  readonly hung: boolean;
}

/**
 * Watch `child`: any message counts as a sign of life; silence for `timeoutMs` kills it and calls `onHung`.
 * Until its first message the worker is still loading its modules (seconds on a busy machine): it gets
 * the longer `startupMs`.
 */
export function watch(
  child: ChildProcess,
  timeoutMs: number,
  onHung: (silentMs: number) => void,
  startupMs = Math.max(4 * timeoutMs, 30_000),
): Watchdog {
  let last = Date.now();
  let up = false;
  const state = { hung: false };
  child.on("message", () => {
    last = Date.now();
    up = true;
  });
  const timer = setInterval(
    () => {
      const silent = Date.now() - last;
      if (silent <= (up ? timeoutMs : startupMs) || state.hung) return;
      state.hung = true;
      onHung(silent);
      child.kill("SIGKILL");
    },
    Math.max(50, Math.min(HEARTBEAT_MS, timeoutMs / 4)),
  );
  timer.unref();
  child.once("exit", () => clearInterval(timer));
  return state;
}
