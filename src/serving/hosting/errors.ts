// Typed failures of the hosting engine. Each carries an HTTP-like status and a machine-readable reason,
// so that a server in front of the engine maps them to responses without parsing messages.

import { SprigError } from "../../errors/index.ts";

export class HostingError extends SprigError {
  override name = "HostingError";
  /**
   * status: HTTP-like — 400 bad request, 404 unknown model, 409 conflict, 422 wrong base, 429/503 over capacity, 499 cancelled;
   * reason: stable machine-readable code, e.g. "queue_full"
   */
  constructor(message: string, status: number, reason: string) {
    super(status, reason, message);
  }
}

/** The request is malformed or can never be served (empty prompt, id outside the vocabulary, too long). */
export class InvalidRequestError extends HostingError {
  override name = "InvalidRequestError";
  constructor(message: string) {
    super(message, 400, "invalid_request");
  }
}

/** No active model or adapter of that name (never activated, or deactivated). */
export class UnknownModelError extends HostingError {
  override name = "UnknownModelError";
  constructor(name: string, active: readonly string[]) {
    const list = active.length ? active.join(", ") : "none";
    super(`no active model or adapter named '${name}' (active: ${list}; null = the base model)`, 404, "unknown_model");
  }
}

/** An adapter or model that was not derived from this engine's base, or that this engine cannot host. */
export class AdapterMismatchError extends HostingError {
  override name = "AdapterMismatchError";
  constructor(message: string) {
    super(message, 422, "adapter_mismatch");
  }
}

/**
 * The engine cannot take more work now. reason "queue_full" (503: the whole engine is saturated),
 * "model_queue_full" (429: this model's share of the queue is used up; others are still served),
 * "too_many_adapters" / "too_many_full_models" (409: no free table row or model slot), "closed" (503).
 */
export class OverCapacityError extends HostingError {
  override name = "OverCapacityError";
  constructor(
    message: string,
    status: 429 | 503 | 409,
    reason: "queue_full" | "model_queue_full" | "too_many_adapters" | "too_many_full_models" | "closed",
  ) {
    super(message, status, reason);
  }
}

/** A name is already taken by an active (or still draining) model. */
export class ConflictError extends HostingError {
  override name = "ConflictError";
  constructor(message: string) {
    super(message, 409, "conflict");
  }
}

/**
 * The request was stopped before it finished: by its AbortSignal ("cancelled"), because its model was
 * deactivated with cancelInFlight ("model_deactivated"), or because the engine closed ("closed").
 */
export class CancelledError extends HostingError {
  override name = "CancelledError";
  constructor(message: string, reason: "cancelled" | "model_deactivated" | "closed") {
    super(message, 499, reason);
  }
}
