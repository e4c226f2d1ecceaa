// The one place where errors become HTTP responses: ServiceError keeps its status and code; fastify's
// own errors (bad JSON, body too large) and anything else are mapped here. /v1 gets OpenAI's error body.

import type { FastifyError } from "fastify";
import { z } from "zod";
import { ServiceError } from "../control/index.ts";
import { formatIssues } from "../errors/index.ts";

export function toServiceError(err: unknown): ServiceError {
  if (err instanceof ServiceError) return err;
  if (err instanceof z.ZodError) return new ServiceError(400, "InvalidParameter", formatIssues(err.issues));
  const fe = err as FastifyError;
  if (fe && typeof fe.statusCode === "number" && fe.statusCode >= 400 && fe.statusCode < 500) {
    if (fe.code === "FST_ERR_CTP_BODY_TOO_LARGE") return new ServiceError(413, "PayloadTooLarge", "the request body is too large");
    if (fe.statusCode === 415) return new ServiceError(415 as number, "InvalidParameter", fe.message);
    return new ServiceError(fe.statusCode, "InvalidParameter", `invalid request: ${fe.message}`);
  }
  return new ServiceError(500, "InternalServerError", "internal error; the request id identifies it in the server log");
}

/** zod issues as one message that names each field (the errors leaf's formatter, used by every layer). */
export { formatIssues };

export function ociErrorBody(e: ServiceError): { code: string; message: string } {
  return { code: e.code, message: e.message };
}

const OPENAI_TYPE: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  404: "not_found_error",
  409: "invalid_request_error",
  413: "invalid_request_error",
  429: "rate_limit_error",
};

export function openAiErrorBody(e: ServiceError): { error: { message: string; type: string; param: string | null; code: string } } {
  const field = /^(?:body\.)?([A-Za-z_][\w.]*):/.exec(e.message)?.[1] ?? null;
  return {
    error: {
      message: e.message,
      type: OPENAI_TYPE[e.status] ?? (e.status >= 500 ? "server_error" : "invalid_request_error"),
      param: field,
      code: e.code,
    },
  };
}

/** `sprig host`'s error body, `{error: {status, reason, message}}`: the hosting engine's own status and reason. */
export function hostErrorBody(err: unknown): { error: { status: number; reason: string; message: string } } {
  const e = err as { status?: unknown; reason?: unknown; message?: unknown };
  if (err instanceof z.ZodError) return { error: { status: 400, reason: "invalid_request", message: formatIssues(err.issues) } };
  if (e && typeof e.status === "number" && typeof e.reason === "string")
    return { error: { status: e.status, reason: e.reason, message: String(e.message) } };
  const fe = err as FastifyError;
  if (fe && typeof fe.statusCode === "number" && fe.statusCode >= 400 && fe.statusCode < 500) {
    if (fe.code === "FST_ERR_CTP_BODY_TOO_LARGE")
      return { error: { status: 413, reason: "too_large", message: "the request body is too large" } };
    return { error: { status: fe.statusCode, reason: "invalid_request", message: fe.message } };
  }
  return { error: { status: 500, reason: "internal", message: err instanceof Error ? err.message : String(err) } };
}
