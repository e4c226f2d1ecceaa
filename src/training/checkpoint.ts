// Resumable checkpoints of a fine-tuning run: trainable tensors, optimizer state, loop position and
// history. Written to a temp directory and swapped in by renames, so a crash never leaves a torn one.

import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadTensors, writeSafetensors, type TensorToWrite } from "../models/index.ts";
import type { HistoryEntry } from "./metrics.ts";

export const CHECKPOINT_VERSION = 2;

/** Where the loop stands; together with the seed this fixes every later shuffle and dropout mask. */
export interface LoopState {
  version: number;
  /** what the run was started with (method, config, data and base fingerprints): resume must match */
  identity: string;
  /** optimizer steps done */
  step: number;
  /** the epoch and micro-batch index of the next micro-batch */
  epoch: number;
  batchInEpoch: number;
  /** micro-batches done overall (seeds LoRA dropout masks) */
  microStep: number;
  history: HistoryEntry[];
  bestValLoss: number | null;
  /** the step and loss of the lowest validation loss so far (whose parameters early stopping keeps; the
   * threshold only decides patience); absent in older checkpoints */
  bestStep?: number | null;
  bestStepLoss?: number | null;
  evalsWithoutImprovement: number;
}

export interface Checkpoint {
  state: LoopState;
  params: Map<string, Float32Array>;
  /** optimizer slots and step count */
  slots: Map<string, Float32Array>;
  optimizerStep: number;
  /** the trainable tensors at the best evaluation so far (early stopping restores them) */
  best?: Map<string, Float32Array>;
}

const DIR = "checkpoint";
const STATE = "state.json";
const TENSORS = "tensors.safetensors";

export function checkpointDir(runDir: string): string {
  return join(runDir, DIR);
}

/** Write atomically: a complete new checkpoint replaces the old one, or the old one stays. */
export async function saveCheckpoint(runDir: string, c: Checkpoint): Promise<void> {
  const final = checkpointDir(runDir);
  const tmp = join(runDir, `${DIR}.tmp-${process.pid}`);
  const old = join(runDir, `${DIR}.old`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const tensors: Record<string, TensorToWrite> = {};
  for (const [k, v] of c.params) tensors[`param.${k}`] = { dtype: "F32", shape: [v.length], data: v };
  for (const [k, v] of c.slots) tensors[`opt.${k}`] = { dtype: "F32", shape: [v.length], data: v };
  for (const [k, v] of c.best ?? []) tensors[`best.${k}`] = { dtype: "F32", shape: [v.length], data: v };
  await writeSafetensors(join(tmp, TENSORS), tensors); // fsyncs before its rename
  await writeFile(join(tmp, STATE), `${JSON.stringify({ ...c.state, optimizerStep: c.optimizerStep })}\n`);
  await rm(old, { recursive: true, force: true });
  if (existsSync(final)) await rename(final, old);
  await rename(tmp, final);
  await rm(old, { recursive: true, force: true });
}

/** The latest complete checkpoint of a run directory, or null when there is none. */
export async function loadCheckpoint(runDir: string): Promise<Checkpoint | null> {
  let dir = checkpointDir(runDir);
  // a crash between the two renames leaves only the previous checkpoint, under .old
  if (!existsSync(join(dir, STATE))) dir = join(runDir, `${DIR}.old`);
  if (!existsSync(join(dir, STATE))) return null;
  const raw = JSON.parse(await readFile(join(dir, STATE), "utf8")) as LoopState & { optimizerStep: number };
  if (raw.version !== CHECKPOINT_VERSION)
    throw new Error(`checkpoint ${dir} has format version ${raw.version}; this Sprig reads ${CHECKPOINT_VERSION}`);
  const params = new Map<string, Float32Array>();
  const slots = new Map<string, Float32Array>();
  const best = new Map<string, Float32Array>();
  for (const [name, t] of await loadTensors(join(dir, TENSORS))) {
    const data = Float32Array.from(await t.float32());
    if (name.startsWith("param.")) params.set(name.slice(6), data);
    else if (name.startsWith("opt.")) slots.set(name.slice(4), data);
    else if (name.startsWith("best.")) best.set(name.slice(5), data);
  }
  const { optimizerStep, ...state } = raw;
  return { state, params, slots, optimizerStep, ...(best.size ? { best } : {}) };
}
