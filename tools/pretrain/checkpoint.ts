// Pre-training checkpoints: weights and AdamW moments as safetensors plus state.json naming the step.
// state.json is written last (atomically), so a run killed mid-save resumes from the previous complete
// checkpoint; each safetensors file records its step, and a mismatch is refused rather than mixed.

import { existsSync, readFileSync, renameSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { readSafetensors, writeSafetensors } from "../../src/models/io/safetensors.ts";

export interface CheckpointState {
  /** optimizer steps completed */
  step: number;
  /** the run's settings and shapes, to refuse resuming a different run */
  fingerprint: string;
}

export interface Checkpoint extends CheckpointState {
  params: Map<string, Float32Array>;
  slots: Map<string, Float32Array>;
}

async function writeSet(file: string, tensors: ReadonlyMap<string, Float32Array>, step: number): Promise<void> {
  const out: Record<string, { dtype: "F32"; shape: number[]; data: Float32Array }> = {};
  for (const [k, v] of tensors) out[k] = { dtype: "F32", shape: [v.length], data: v };
  await writeSafetensors(file, out, { step: String(step) });
}

async function readSet(file: string, step: number): Promise<Map<string, Float32Array>> {
  const f = await readSafetensors(file);
  if (f.metadata.step !== String(step))
    throw new Error(`${file} holds step ${f.metadata.step}, state.json says ${step}: the checkpoint is inconsistent`);
  const out = new Map<string, Float32Array>();
  for (const [k, e] of f.tensors) out.set(k, await e.float32());
  return out;
}

export async function saveCheckpoint(dir: string, c: Checkpoint): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await writeSet(join(dir, "params.safetensors"), c.params, c.step);
  await writeSet(join(dir, "optimizer.safetensors"), c.slots, c.step);
  const tmp = join(dir, `.state.json.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify({ step: c.step, fingerprint: c.fingerprint } satisfies CheckpointState, null, 2) + "\n");
  renameSync(tmp, join(dir, "state.json"));
}

/** The checkpoint in `dir`, or null when there is none. */
export async function loadCheckpoint(dir: string): Promise<Checkpoint | null> {
  const stateFile = join(dir, "state.json");
  if (!existsSync(stateFile)) return null;
  const state = JSON.parse(readFileSync(stateFile, "utf8")) as CheckpointState;
  return {
    ...state,
    params: await readSet(join(dir, "params.safetensors"), state.step),
    slots: await readSet(join(dir, "optimizer.safetensors"), state.step),
  };
}
