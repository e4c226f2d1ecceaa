// The one error type of the service: an HTTP status, an OCI-style code and a message that names the
// field or the rule. Everything the API returns as an error is a ServiceError (the API maps others to 500).

import { SprigError } from "../errors/index.ts";

export type ErrorCode =
  | "InvalidParameter"
  | "MissingParameter"
  | "NotAuthenticated"
  | "NotAuthorizedOrNotFound"
  | "IncorrectState"
  | "Conflict"
  | "PreconditionFailed"
  | "PayloadTooLarge"
  | "LimitExceeded"
  | "TooManyRequests"
  | "ClientClosedRequest"
  | "InternalServerError"
  | "ServiceUnavailable";

export class ServiceError extends SprigError {
  override name = "ServiceError";
  constructor(status: number, code: ErrorCode, message: string, hint?: string) {
    super(status, code, message, hint);
  }

  /** OCI's error code (the base error's reason) */
  get code(): ErrorCode {
    return this.reason as ErrorCode;
  }
}

/** The OCI code of an error from below (a worker's, the engine's) that carries only its status and its own reason. */
const CODE_OF_STATUS: Partial<Record<number, ErrorCode>> = {
  400: "InvalidParameter",
  401: "NotAuthenticated",
  404: "NotAuthorizedOrNotFound",
  409: "Conflict",
  412: "PreconditionFailed",
  413: "PayloadTooLarge",
  415: "InvalidParameter",
  422: "InvalidParameter",
  429: "TooManyRequests",
  499: "ClientClosedRequest",
  503: "ServiceUnavailable",
};

/** Any SprigError as a ServiceError with its own status, message and hint, and an OCI code for the status;
 *  the original error (with its own reason, e.g. a worker's `adapter_mismatch`) is kept as the cause.
 *  `field` names the request field the error is about (prefixed to the message). */
export function asServiceError(e: SprigError, field?: string): ServiceError {
  if (e instanceof ServiceError && field === undefined) return e;
  const code = CODE_OF_STATUS[e.status] ?? (e.status >= 500 ? "InternalServerError" : "InvalidParameter");
  const s = new ServiceError(e.status, code, field ? `${field}: ${e.message}` : e.message, e.hint);
  s.cause = e;
  return s;
}

export const badRequest = (message: string): ServiceError => new ServiceError(400, "InvalidParameter", message);
/** Missing and hidden look the same, so a key never learns what exists in other compartments. */
export const notFound = (what: string, id: string): ServiceError =>
  new ServiceError(404, "NotAuthorizedOrNotFound", `${what} ${id} does not exist or is not in a compartment this key may use`);
export const conflict = (message: string): ServiceError => new ServiceError(409, "Conflict", message);
export const incorrectState = (message: string): ServiceError => new ServiceError(409, "IncorrectState", message);
export const preconditionFailed = (id: string): ServiceError =>
  new ServiceError(
    412,
    "PreconditionFailed",
    `If-Match does not match the current etag of ${id}: it changed since you read it; get it again and retry`,
  );
