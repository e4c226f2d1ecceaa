// A small HTTP client of the service for the tests that run it on a real port (the workflow, the fault
// suite): JSON in and out with the API key, and `ok` for calls that must succeed.

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
    const r = await fetch(this.url + path, {
      method,
      headers: {
        authorization: `Bearer ${this.key}`,
        ...(body !== undefined && typeof body !== "string" ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : null, headers: r.headers };
  }

  async ok(method: string, path: string, body?: unknown): Promise<Json> {
    const r = await this.call(method, path, body);
    assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.json)}`);
    return r.json;
  }
}
