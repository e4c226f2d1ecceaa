// Several machines, for real on one: PostgreSQL, two API nodes and two worker nodes as separate `sprig`
// processes (own data directories, one shared artifacts directory). Through the API: a hosting cluster and an
// endpoint on the bundled base model, generation (plain and streamed) through either API node, served by the
// worker node holding the unit; then that node is SIGKILLed mid-request: the requests in flight fail with a
// retryable 503, the node is declared lost, the unit moves to the other node and the endpoint serves again
// from there, through both API nodes.
// The fine-tune half (a job claimed again by another node, resumed from its checkpoint) is fine-tune.test.ts.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, test } from "node:test";
import { HttpClient, type Json } from "../api/http-client.ts";
import { type PostgresServer, skipReason, startPostgres } from "../store/postgres-server.ts";
import { type Proc, kill, startNodes } from "./processes.ts";

const skip = skipReason() ?? undefined;
const procs: Proc[] = [];
let pg: PostgresServer | null = null;
after(async () => {
  for (const p of procs) await kill(p);
  await pg?.stop();
});

async function until<T>(f: () => Promise<T | null | undefined | false>, what: string, ms = 60_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// EOS forbidden: every answer runs to max_tokens, so requests are still running when the node dies
const completion = (model: string, o: { stream?: boolean; maxTokens?: number } = {}) => ({
  model,
  prompt: "Once upon a time",
  max_tokens: o.maxTokens ?? 8,
  temperature: 0,
  logit_bias: { "2": -100 },
  ...(o.stream ? { stream: true } : {}),
});

/** A streamed completion: its text, and the error event if the stream carried one. */
async function streamed(c: HttpClient, body: unknown, onFirst?: () => void): Promise<{ status: number; text: string; error: Json }> {
  const r = await fetch(`${c.url}/v1/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${c.key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  let text = "";
  let error: Json = null;
  let buf = "";
  const decoder = new TextDecoder();
  for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
      const frame = buf.slice(0, i).replace(/^data: /, "");
      buf = buf.slice(i + 2);
      if (frame === "[DONE]") continue;
      const j = JSON.parse(frame) as Json;
      if (j.error) error = j.error;
      else if (j.choices?.[0]?.text) {
        if (!text) onFirst?.();
        text += j.choices[0].text;
      }
    }
  }
  return { status: r.status, text, error };
}

test(
  "hosting on two worker nodes: served by the node holding the unit, and again from the other one after it is SIGKILLed",
  { skip },
  async () => {
    pg = await startPostgres();
    const database = await pg.newDatabase();
    const set = await startNodes({ database, apis: 2, workers: ["n1", "n2"], importRoot: join(process.cwd(), "models"), procs });
    const nodes = set.workers;
    // c and op on the first API node, c2 on the second: any API node accepts any request
    const c = new HttpClient(set.apis[0]!.url, set.key);
    const c2 = new HttpClient(set.apis[1]!.url, set.key);
    const op = new HttpClient(set.apis[1]!.url, set.admin);

    // the nodes registered with their listeners; the API node is not a node
    const view = await op.ok("GET", "/20231130/admin/nodes");
    assert.deepEqual(
      (view.items as Json[]).map((n) => [n.id, typeof n.address, n.lost ?? null]),
      [
        ["n1", "string", null],
        ["n2", "string", null],
      ],
    );

    const base = ((await c.ok("GET", "/20231130/models?compartmentId=compA")).items as Json[]).find((m) => m.type === "BASE");
    assert.ok(base, "the bundled base model is registered");
    const hc = await c.ok("POST", "/20231130/dedicatedAiClusters", { compartmentId: "compA", type: "HOSTING", unitCount: 1 });
    await until(async () => (await c.ok("GET", `/20231130/dedicatedAiClusters/${hc.id}`)).lifecycleState === "ACTIVE", "cluster ACTIVE");
    const ep = await c.ok("POST", "/20231130/endpoints", { compartmentId: "compA", modelId: base.id, dedicatedAiClusterId: hc.id });
    const active = await until(async () => {
      const e = await c.ok("GET", `/20231130/endpoints/${ep.id}`);
      assert.notEqual(e.lifecycleState, "FAILED", e.lifecycleDetails);
      return e.lifecycleState === "ACTIVE" && e;
    }, "endpoint ACTIVE");
    assert.equal(active.lifecycleState, "ACTIVE");
    const units = (await c.ok("GET", `/20231130/dedicatedAiClusters/${hc.id}`)).units as Json[];
    assert.equal(units.length, 1);
    const holder = nodes.find((n) => n.id === units[0].nodeId)!;
    const other = nodes.find((n) => n !== holder)!;

    // served through the API node by the worker node, plain and streamed
    const plain = await c.ok("POST", "/v1/completions", completion(ep.id));
    assert.equal(plain.choices[0].finish_reason, "length");
    const first = await streamed(c, completion(ep.id, { stream: true }));
    assert.equal(first.status, 200);
    assert.equal(first.error, null);
    assert.equal(first.text, plain.choices[0].text, "the stream carries the same greedy text");
    // the second API node took no part in creating the endpoint: it routes to the holder all the same
    const via2 = await c2.ok("POST", "/v1/completions", completion(ep.id));
    assert.equal(via2.choices[0].text, plain.choices[0].text, "the second API node serves the same answer");
    const stream2 = await streamed(c2, completion(ep.id, { stream: true }));
    assert.equal(stream2.error, null);
    assert.equal(stream2.text, plain.choices[0].text, "and streams it");
    assert.equal((await c2.ok("GET", `/20231130/endpoints/${ep.id}`)).lifecycleState, "ACTIVE");

    // requests in flight on the holder when it is killed: a long stream (killed at its first token) and plain ones
    let killed: Promise<void> | null = null;
    const inFlight = Array.from({ length: 4 }, () => c.call("POST", "/v1/completions", completion(ep.id, { maxTokens: 200 })));
    const stream = streamed(c, completion(ep.id, { stream: true, maxTokens: 200 }), () => (killed ??= kill(holder)));
    const answers = await Promise.all(inFlight);
    const s2 = await stream;
    await killed;
    assert.ok(killed, "the stream started before the kill");
    for (const a of answers) assert.ok(a.status === 200 || a.status === 503, `in flight: ${a.status} ${JSON.stringify(a.json)}`);
    const refused = answers.filter((a) => a.status === 503);
    assert.ok(refused.length >= 1 || s2.error, "a request in flight on the killed node failed");
    for (const a of refused) {
      assert.equal(a.headers.get("retry-after"), "1", "the 503 says when to retry");
      assert.equal(a.json.error.type, "server_error");
    }
    if (s2.error) assert.equal(s2.error.code, "ServiceUnavailable", JSON.stringify(s2.error));

    // the node is declared lost, the unit moves to the other node, and the endpoint serves again from there
    const again = await until(
      async () => {
        const r = await c.call("POST", "/v1/completions", completion(ep.id));
        if (r.status === 200) return r.json;
        assert.equal(r.status, 503, `while the unit moves: ${r.status} ${JSON.stringify(r.json)}`);
        return null;
      },
      "the endpoint serving again",
      90_000,
    );
    assert.equal(again.choices[0].text, plain.choices[0].text);
    const moved = (await c.ok("GET", `/20231130/dedicatedAiClusters/${hc.id}`)) as Json;
    assert.deepEqual(
      (moved.units as Json[]).map((u) => u.nodeId),
      [other.id],
    );
    assert.equal(moved.lifecycleState, "ACTIVE");
    assert.equal((await c.ok("GET", `/20231130/endpoints/${ep.id}`)).lifecycleState, "ACTIVE");
    const lost = ((await op.ok("GET", "/20231130/admin/nodes")).items as Json[]).find((n) => n.id === holder.id);
    assert.match(lost.lost?.reason ?? "", /no heartbeat since/);
    const streamedAgain = await streamed(c, completion(ep.id, { stream: true }));
    assert.equal(streamedAgain.text, plain.choices[0].text);
    // the second API node learns of the move as well (its pool follows the reservations)
    const again2 = await until(
      async () => {
        const r = await c2.call("POST", "/v1/completions", completion(ep.id));
        if (r.status === 200) return r.json;
        assert.equal(r.status, 503, `through the second API node after the move: ${r.status} ${JSON.stringify(r.json)}`);
        return null;
      },
      "the second API node serving again",
      60_000,
    );
    assert.equal(again2.choices[0].text, plain.choices[0].text);
  },
);
