// `sprig host`'s HTTP interface over a real socket: generate (JSON and SSE), activate/deactivate,
// stats, errors with status and reason, and a client disconnect cancelling its request.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createHostServer } from "../../src/cli/commands/host-http.ts";
import { type LoadedModel, loadModel } from "../../src/models/index.ts";
import { HostingEngine } from "../../src/serving/hosting/hosting-engine.ts";
import { FIXTURES, GOLDEN_ADAPTERS, Reference, createEngine } from "./hosting-helpers.ts";

let model: LoadedModel;
let engine: HostingEngine;
let server: Awaited<ReturnType<typeof createHostServer>>;
let base = "";

before(async () => {
  model = await loadModel(`${FIXTURES}/tiny-llama`);
  engine = await createEngine({ model, maxBatchSize: 4, threads: 1 });
  server = await createHostServer(engine);
  base = await server.listen({ port: 0, host: "127.0.0.1" });
});
after(async () => {
  server.server.closeAllConnections();
  await server.close();
  await engine.close();
});

const post = (path: string, body: unknown, signal?: AbortSignal) =>
  fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
    signal,
  });

/** SSE events of a streamed response: {event, data} in order */
interface SseData {
  id?: number;
  text?: string;
  ids?: number[];
}

async function sse(res: Response): Promise<Array<{ event: string; data: SseData }>> {
  const text = await res.text();
  return text
    .split("\n\n")
    .filter((b) => b.trim())
    .map((b) => {
      const event = /^event: (.*)$/m.exec(b)?.[1] ?? "message";
      return { event, data: JSON.parse(/^data: (.*)$/m.exec(b)![1]!) as SseData };
    });
}

test("POST /generate: JSON and SSE give the reference tokens and text", async () => {
  const ref = new Reference(model);
  try {
    const res = await post("/generate", { prompt_ids: [1, 5, 9], max_tokens: 6, temperature: 0 });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.deepEqual(body.ids, (await ref.alone(null, [1, 5, 9], { temperature: 0, maxTokens: 6 })).ids);
    assert.deepEqual(body.usage, { prompt_tokens: 3, completion_tokens: body.ids.length });

    const plain = await (await post("/generate", { prompt: "Once upon a time", max_tokens: 8, temperature: 0 })).json();
    const streamed = await post("/generate", { prompt: "Once upon a time", max_tokens: 8, temperature: 0, stream: true });
    assert.equal(streamed.headers.get("content-type"), "text/event-stream");
    const events = await sse(streamed);
    const tokens = events.filter((e) => e.event === "message").map((e) => e.data);
    assert.deepEqual(
      tokens.map((t) => t.id),
      plain.ids,
    );
    assert.equal(tokens.map((t) => t.text).join(""), plain.text);
    assert.equal(events.at(-1)!.event, "done");
    assert.deepEqual(events.at(-1)!.data.ids, plain.ids);
  } finally {
    await ref.dispose();
  }
});

test("adapters: activate, serve, list, deactivate, then refused with 404", async () => {
  const dir = `${GOLDEN_ADAPTERS}/tiny-llama-ia3/adapter`;
  const act = await post("/adapters/support-bot/activate", { dir });
  assert.equal(act.status, 200);
  assert.equal((await act.json()).kind, "ia3");
  const gen = await post("/generate", { adapter: "support-bot", prompt_ids: [1, 5], max_tokens: 3, temperature: 0 });
  assert.equal(gen.status, 200);
  assert.equal((await gen.json()).model, "support-bot");
  const list = await (await fetch(`${base}/adapters`)).json();
  assert.deepEqual(
    list.data.map((m: { name: string }) => m.name),
    ["support-bot"],
  );
  const stats = await (await fetch(`${base}/stats`)).json();
  assert.equal(stats.tables.ia3.used, 1);
  assert.ok(stats.base.bytes > 0);
  const de = await post("/adapters/support-bot/deactivate", "");
  assert.ok(de.status === 200 || de.status === 202);
  const gone = await post("/generate", { adapter: "support-bot", prompt_ids: [1, 5], max_tokens: 3 });
  assert.equal(gone.status, 404);
  assert.equal((await gone.json()).error.reason, "unknown_model");
});

test("errors carry status and reason", async () => {
  const cases: Array<[Promise<Response>, number, string, RegExp]> = [
    [post("/generate", "{not json"), 400, "invalid_request", /not valid JSON/],
    [post("/generate", { prompt_ids: [1], bogus: 1 }), 400, "invalid_request", /bogus/],
    [post("/generate", { prompt: "a", prompt_ids: [1] }), 400, "invalid_request", /exactly one of prompt or prompt_ids/],
    [post("/generate", { prompt_ids: [1, 100000] }), 400, "invalid_request", /outside the vocabulary/],
    [post("/adapters/g/activate", { dir: `${GOLDEN_ADAPTERS}/tiny-gpt2-ia3/adapter` }), 422, "adapter_mismatch", /another base/],
    [post("/adapters/x/deactivate", {}), 404, "unknown_model", /no active model/],
    [fetch(`${base}/nowhere`), 404, "not_found", /no route GET \/nowhere/],
  ];
  for (const [p, status, reason, message] of cases) {
    const res = await p;
    assert.equal(res.status, status);
    const { error } = await res.json();
    assert.equal(error.reason, reason);
    assert.match(error.message, message);
  }
});

test("a client that disconnects mid-stream cancels its request", async () => {
  // a model with a long context, so the request cannot finish before the disconnect is noticed
  const long = await createEngine({ modelDir: "test/fixtures/models/stories260K-hf", maxBatchSize: 2, threads: 1 });
  const srv = await createHostServer(long);
  const at = await srv.listen({ port: 0, host: "127.0.0.1" });
  try {
    const url = `${at}/generate`;
    const ac = new AbortController();
    const body = JSON.stringify({ prompt_ids: [1], max_tokens: 500, temperature: 0, stream: true });
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body, signal: ac.signal });
    const reader = res.body!.getReader();
    const first = await reader.read();
    assert.ok(!first.done && new TextDecoder().decode(first.value).includes("data:"), "the stream started");
    ac.abort();
    // the server notices the closed socket, cancels, and the row leaves at the next step boundary
    const settled = () => long.stats().totals.cancelled === 1 && long.stats().batch.running === 0;
    for (let i = 0; i < 3000 && !settled(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(long.stats().totals.cancelled, 1);
    assert.equal(long.stats().totals.completed, 0);
    assert.equal(long.stats().batch.running, 0);
  } finally {
    srv.server.closeAllConnections();
    await srv.close();
    await long.close();
  }
});
