// Server paths out of what a fine-tune worker reports: log lines and errors reach the tenant's event log
// and work-request errors, which must not reveal where the service keeps its data (issue 12, item 2).

import type { FineTuneSpec } from "../executors.ts";
import type { WireError } from "./messages.ts";

/** Replaces each of the spec's paths (longest first, so a file inside a directory keeps its own label) with what it is. */
export function pathRedactor(
  spec: Pick<FineTuneSpec, "baseModelDir" | "initAdapterDir" | "dataFile" | "validationDataFile" | "outputDir" | "checkpointDir">,
): (text: string) => string {
  const labels: [string, string][] = (
    [
      [spec.outputDir, "<custom model>"],
      [spec.checkpointDir, "<checkpoints>"],
      [spec.dataFile, "<training data>"],
      [spec.validationDataFile, "<validation data>"],
      [spec.baseModelDir, "<base model>"],
      [spec.initAdapterDir, "<parent adapter>"],
    ] as [string | null | undefined, string][]
  )
    .filter((e): e is [string, string] => typeof e[0] === "string" && e[0].length > 1)
    .sort((a, b) => b[0].length - a[0].length);
  return (text) => labels.reduce((t, [path, label]) => t.split(path).join(label), text);
}

/** The error with its message and hint redacted (line reasons quote the data, not paths: kept). */
export function redactWire(e: WireError, redact: (text: string) => string): WireError {
  return { ...e, message: redact(e.message), ...(e.hint !== undefined ? { hint: redact(e.hint) } : {}) };
}
