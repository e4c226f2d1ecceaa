// A small HTTP client of the service for the tests that run it on a real port (the workflow, the fault
// suite, adapter imports): JSON (or raw bytes) in, JSON out with the API key, `ok` for calls that must
// succeed, `waitFor` a lifecycle state.

import assert from "node:assert/strict";

// response bodies are read field by field and checked by the assertions themselves
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export class HttpClient {
  constructor(
    readonly url: string,
    readonly key: string,
  ) {}

  async call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; json: Json; headers: Headers }> {
    // bytes (a file upload) go as they are; anything else but a string as JSON
    const raw = body instanceof Uint8Array;
    const r = await fetch(this.url + path, {
      method,
      headers: {
        authorization: `Bearer ${this.key}`,
        ...(body !== undefined && typeof body !== "string" && !raw ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      body:
        body === undefined ? undefined : typeof body === "string" ? body : raw ? new Uint8Array(body as Uint8Array) : JSON.stringify(body),
    });
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : null, headers: r.headers };
  }

  async ok(method: string, path: string, body?: unknown): Promise<Json> {
    const r = await this.call(method, path, body);
    assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.json)}`);
    return r.json;
  }

  /** GET `path` until its lifecycleState is `want` (throws if it becomes FAILED, or after `tries` polls). */
  async waitFor(path: string, want: string, tries = 2400): Promise<Json> {
    for (let i = 0; i < tries; i++) {
      const r = await this.ok("GET", path);
      if (r.lifecycleState === want) return r;
      if (r.lifecycleState === "FAILED") throw new Error(`${path} FAILED: ${r.lifecycleDetails}`);
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error(`${path} never became ${want}`);
  }
}
