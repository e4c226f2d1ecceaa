// Reads an onnxruntime profile (chrome-trace JSON) and sums kernel time per op type, so the bench
// can say where a run's time goes.

import { readdirSync, readFileSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";

interface TraceEvent {
  cat?: string;
  name?: string;
  ts?: number;
  dur?: number;
  args?: { op_name?: string };
}

export interface OpTime {
  op: string;
  /** µs per run */
  us: number;
  share: number;
  count: number;
}

/**
 * The newest profile file written for `prefix`, parsed and deleted. Only the last `runs` runs count
 * (earlier ones are warm-up: arena growth and page faults); times are per run.
 */
export function readProfile(prefix: string, runs: number): OpTime[] {
  return readProfileRuns(prefix, runs).ops;
}

/** As readProfile, with the mean ORT time of one run (`model_run`, kernels and the gaps between them). */
export function readProfileRuns(prefix: string, runs: number): { ops: OpTime[]; runUs: number } {
  const dir = dirname(prefix);
  const base = basename(prefix);
  const files = readdirSync(dir)
    .filter((f) => f.startsWith(base) && f.endsWith(".json"))
    .sort();
  const file = files.at(-1);
  if (!file) throw new Error(`no ORT profile named ${prefix}*.json`);
  const events = JSON.parse(readFileSync(join(dir, file), "utf8")) as TraceEvent[];
  if (!process.env.SPRIG_KEEP_PROFILE) for (const f of files) rmSync(join(dir, f));
  const windows = events
    .filter((e) => e.name === "model_run")
    .sort((a, b) => a.ts! - b.ts!)
    .slice(-runs)
    .map((e) => [e.ts!, e.ts! + e.dur!] as const);
  const inWindow = (ts: number) => windows.some(([a, b]) => ts >= a && ts <= b);
  const byOp = new Map<string, { us: number; count: number }>();
  for (const e of events) {
    if (e.cat !== "Node" || !e.name?.endsWith("_kernel_time") || !e.args?.op_name || !inWindow(e.ts!)) continue;
    const o = byOp.get(e.args.op_name) ?? { us: 0, count: 0 };
    o.us += e.dur ?? 0;
    o.count++;
    byOp.set(e.args.op_name, o);
  }
  const total = [...byOp.values()].reduce((a, o) => a + o.us, 0);
  const ops = [...byOp].map(([op, o]) => ({ op, us: o.us / runs, share: o.us / total, count: o.count / runs })).sort((a, b) => b.us - a.us);
  return { ops, runUs: windows.reduce((a, [s, e]) => a + e - s, 0) / windows.length };
}
