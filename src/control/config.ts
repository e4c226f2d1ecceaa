// The control plane's settings, validated at the boundary (unknown keys rejected).

import { z } from "zod";

export const ControlConfigSchema = z.strictObject({
  /** endpoints one HOSTING cluster may hold (OCI's totalEndpointCapacity) */
  endpointCapacityPerCluster: z.number().int().min(1).max(10_000).default(50),
  /** how many times a crashed fine-tune (worker killed) is resumed from its checkpoint before it fails */
  maxFineTuneAttempts: z.number().int().min(1).max(100).default(3),
  /** largest training data object accepted, in bytes */
  maxObjectBytes: z
    .number()
    .int()
    .min(1)
    .default(512 * 1024 * 1024),
  /** directories HUGGING_FACE_DIRECTORY imports may read (below them, after symlinks); empty: such imports are refused */
  modelImportRoots: z.array(z.string().min(1)).default([]),
  /** a BASE model every compartment sees, registered at start-up when its directory exists */
  defaultBaseModelDir: z.string().nullable().default(null),
  /** how long a create's answer is kept for its opc-retry-token (a retry within it gets the same answer) */
  retryTokenRetentionHours: z
    .number()
    .positive()
    .max(24 * 30)
    .default(24),
});
export type ControlConfig = z.infer<typeof ControlConfigSchema>;
export type ControlConfigInput = z.input<typeof ControlConfigSchema>;

/** Fields the control plane logs with; pino's logger fits. */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
