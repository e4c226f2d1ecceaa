// The base of every error Sprig reports to a user: an HTTP-like status, a stable machine-readable reason,
// a message that names the field or rule, and an optional hint of what to do. Layers subclass it
// (ServiceError, HostingError, …); api/errors.ts maps any SprigError to a response without guessing.

export class SprigError extends Error {
  override name = "SprigError";
  constructor(
    /** HTTP-like status: 4xx the caller's fault, 5xx ours or transient */
    readonly status: number,
    /** stable machine-readable code, e.g. "adapter_mismatch" or OCI's "InvalidParameter" */
    readonly reason: string,
    message: string,
    /** what the caller can do about it, when there is something */
    readonly hint?: string,
  ) {
    super(message);
  }

  /** The fields that cross a process boundary (worker → control plane) and come back as the same error. */
  toWire(): WireError {
    return { name: this.name, status: this.status, reason: this.reason, message: this.message, hint: this.hint };
  }
}

/** An error as it crosses a process boundary; `fromWire` turns it back into a SprigError. */
export interface WireError {
  name: string;
  message: string;
  status?: number;
  reason?: string;
  hint?: string;
  /** line-numbered problems of a data file (training data) */
  lines?: { line: number; reason: string }[];
}

/** Anything thrown, as a WireError: SprigErrors keep status and reason; others have neither. */
export function toWire(e: unknown): WireError {
  if (e instanceof SprigError) return { ...e.toWire(), lines: (e as { lines?: WireError["lines"] }).lines };
  const err = e as Error & { status?: unknown; reason?: unknown; lines?: WireError["lines"] };
  return {
    name: err?.name ?? "Error",
    message: err?.message ?? String(e),
    status: typeof err?.status === "number" ? err.status : undefined,
    reason: typeof err?.reason === "string" ? err.reason : undefined,
    lines: err?.lines,
  };
}

/** A WireError back as an error: a SprigError when it had a status and reason, a plain Error otherwise. */
export function fromWire(w: WireError): Error {
  const e = w.status !== undefined && w.reason !== undefined ? new SprigError(w.status, w.reason, w.message, w.hint) : new Error(w.message);
  e.name = w.name;
  if (w.lines) Object.assign(e, { lines: w.lines });
  return e;
}
