// The console's only way to the service: the public HTTP API with the signed-in key (kept in this tab's
// sessionStorage only). Errors carry the API's own words; a 401 signs the tab out.

import { EventSourceParserStream } from "eventsource-parser/stream";

const KEY = "sprig.apiKey";
const COMPARTMENT = "sprig.compartmentId";

export const session = {
  get key() {
    return sessionStorage.getItem(KEY);
  },
  get compartment() {
    return sessionStorage.getItem(COMPARTMENT);
  },
  save(key, compartment) {
    sessionStorage.setItem(KEY, key);
    sessionStorage.setItem(COMPARTMENT, compartment);
  },
  clear() {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(COMPARTMENT);
    window.dispatchEvent(new Event("sprig:signed-out"));
  },
};

/** An API refusal: the HTTP status, the API's code and its message, unchanged. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function errorOf(r) {
  const text = await r.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (e.g. a proxy's page): show the text
  }
  // OCI style {code, message}; OpenAI style under /v1 {error: {message, code}}
  const e = body?.error ?? body;
  return new ApiError(r.status, e?.code ?? e?.type ?? String(r.status), e?.message ?? (text || r.statusText));
}

function request(method, path, { body, headers = {}, signal, key = session.key } = {}) {
  const h = { authorization: `Bearer ${key}`, ...headers };
  let payload = body;
  if (body !== undefined && typeof body !== "string" && !(body instanceof Blob)) {
    h["content-type"] = "application/json";
    payload = JSON.stringify(body);
  }
  return fetch(path, { method, headers: h, body: payload, signal });
}

/** Call the API; resolves to `{json, headers}` or throws ApiError. */
export async function call(method, path, o = {}) {
  const r = await request(method, path, o);
  if (!r.ok) {
    const e = await errorOf(r);
    if (r.status === 401 && !o.key) session.clear();
    throw e;
  }
  const text = await r.text();
  return { json: text ? JSON.parse(text) : null, headers: r.headers };
}

export const api = {
  get: async (path, o) => (await call("GET", path, o)).json,
  post: async (path, body, o = {}) => (await call("POST", path, { ...o, body })).json,
  put: async (path, body, o = {}) => (await call("PUT", path, { ...o, body })).json,
  del: async (path, o) => (await call("DELETE", path, o)).json,
};

export const V = "/20231130";

/** Every page of a list (`opc-next-page`), up to `max` items. */
export async function listAll(path, max = 1000) {
  const items = [];
  let page = null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const r = await call("GET", `${path}${sep}limit=100${page ? `&page=${encodeURIComponent(page)}` : ""}`);
    items.push(...r.json.items);
    page = r.headers.get("opc-next-page");
  } while (page && items.length < max);
  return items;
}

/**
 * POST a streaming request and hand each server-sent event's parsed JSON to `onEvent` until `[DONE]`.
 * A refusal before the stream starts throws ApiError; an error event inside the stream does too.
 */
export async function stream(path, body, onEvent, signal) {
  const r = await request("POST", path, { body, signal });
  if (!r.ok) throw await errorOf(r);
  const events = r.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
  for await (const ev of events) {
    if (ev.data === "[DONE]") return;
    const data = JSON.parse(ev.data);
    if (data.error) throw new ApiError(r.status, data.error.code ?? data.error.type ?? "error", data.error.message);
    onEvent(data);
  }
}
