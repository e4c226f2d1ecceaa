// The one place where errors become HTTP responses: ServiceError keeps its status and code; any other
// SprigError (a worker's, the engine's) keeps its status; fastify's own errors (bad JSON, body too large),
// the router's refusals, unknown routes and anything else are mapped here. /v1 gets OpenAI's error body;
// `sprig host` gets the engine's `{error: {status, reason, message}}`.

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { ServiceError, asServiceError } from "../control/index.ts";
import { SprigError, formatIssues } from "../errors/index.ts";

export function toServiceError(err: unknown): ServiceError {
  if (err instanceof ServiceError) return err;
  if (err instanceof SprigError) return asServiceError(err);
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

/** Every error response of the service: its own shape (OpenAI's under /v1), the request id, Retry-After when retrying helps. */
export function sendError(req: FastifyRequest, reply: FastifyReply, err: unknown): void {
  const e = toServiceError(err);
  if (e.status >= 500) req.log.error({ err }, "request failed");
  reply.header("opc-request-id", req.id);
  if (e.status === 429 || e.status === 503) reply.header("retry-after", "1");
  reply.code(e.status).send(req.url.startsWith("/v1/") ? openAiErrorBody(e) : ociErrorBody(e));
}

/** The error event of a stream whose headers are already sent: the same message the response would carry. */
export function streamErrorBody(err: unknown): { error: { message: string; code: string } } {
  const e = toServiceError(err);
  return { error: { message: e.message, code: e.code } };
}

/** An unknown route: the same 404 as a resource that does not exist. */
export const noRoute = (method: string, url: string): ServiceError =>
  new ServiceError(404, "NotAuthorizedOrNotFound", `no route ${method} ${url.split("?")[0]!.slice(0, 200)}`);

/** What the router refuses before any hook runs (fastify's `frameworkErrors`): a path parameter too long, a bad escape. */
export function routerRefusal(err: FastifyError, maxParamLength: number): ServiceError {
  return err.code === "FST_ERR_MAX_PARAM_LENGTH"
    ? new ServiceError(414, "InvalidParameter", `path: a path parameter is longer than ${maxParamLength} characters`)
    : new ServiceError(400, "InvalidParameter", "path: not a valid URL (a '%' must start an escape such as %2F)");
}

/** Route every error and unknown route of the service's server through sendError. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err, req, reply) => sendError(req, reply, err));
  app.setNotFoundHandler((req, reply) => sendError(req, reply, noRoute(req.method, req.url)));
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

/** Route every error and unknown route of `sprig host`'s server through hostErrorBody. */
export function installHostErrorHandling(app: FastifyInstance): void {
  const send = (reply: FastifyReply, err: unknown) => {
    const body = hostErrorBody(err);
    reply.code(body.error.status).send(body);
  };
  app.setErrorHandler((err, _req, reply) => send(reply, err));
  app.setNotFoundHandler((req, reply) =>
    send(reply, { status: 404, reason: "not_found", message: `no route ${req.method} ${req.url.split("?")[0]}` }),
  );
}

/** The body and status of an error on a plain node listener (the metrics listener), in the OCI shape. */
export function plainErrorResponse(e: ServiceError): { status: number; contentType: string; body: string } {
  return { status: e.status, contentType: "application/json", body: JSON.stringify(ociErrorBody(e)) };
}
