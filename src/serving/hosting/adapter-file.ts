// Reading a PEFT adapter directory for activation: two synchronous reads (config, whole safetensors
// file, ~0.1 ms for a T-Few adapter) rather than one async open/read/close per tensor. ONNX Runtime's
// node binding runs a step on the main thread, so every async hop of an activation made during a step
// waits for that step to end; read synchronously, an activation completes at the first step boundary.
// The reading and checking is peft-io's (loadAdapterSync); here its errors become typed hosting errors.

import type { Adapter } from "../../adapters/index.ts";
import { AdapterFitError, loadAdapterSync, otherBase, readAdapterMetaSync } from "../../adapters/index.ts";
import type { ModelConfig } from "../../models/index.ts";
import { ModelIoError } from "../../models/index.ts";
import { AdapterMismatchError, InvalidRequestError } from "./errors.ts";

/** The adapter in `dir`, checked against `base`: AdapterMismatchError (422) when made for another base. */
export function readAdapterDir(dir: string, base: ModelConfig): Adapter {
  return asHostingError(() => loadAdapterSync(dir, base));
}

/** Refuse a directory whose sprig_adapter.json names another base than `fingerprint`. */
export function checkBase(dir: string, fingerprint: string): void {
  const why = otherBase(
    dir,
    asHostingError(() => readAdapterMetaSync(dir)),
    fingerprint,
  );
  if (why !== null) throw new AdapterMismatchError(why);
}

/** Model I/O errors as hosting errors: a misfit is a 422, an unreadable or malformed file a 400. */
export function asHostingError<T>(read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof AdapterFitError) throw new AdapterMismatchError(e.message);
    if (e instanceof ModelIoError) throw new InvalidRequestError(e.message);
    throw e;
  }
}
