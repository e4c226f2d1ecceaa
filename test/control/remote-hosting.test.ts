// The API node's remote hosting executor against a worker node's agent and internal listener, in one
// process (fake pools behind the agent): the node secret (401 without it or with a wrong one), a pool set up
// on the node, generation with streamed tokens, the caller's cancellation reaching the node, a restarted node
// set up again, and requests in flight to a node that dies or is declared lost failing with a retryable 503.

import assert from "node:assert/strict";
import { test } from "node:test";
import { buildNodeListener } from "../../src/api/index.ts";
import {
  ExecutorError,
  type HostingPool,
  type InferenceRequest,
  type InferenceResult,
  NodeAgent,
  type NodeAgentRegistry,
  type PoolSpec,
  RemoteHosting,
  nodePaths,
  silentLogger,
} from "../../src/control/index.ts";
import type { NodeRow } from "../../src/store/index.ts";
import { FakeHosting, FakePool, until } from "./fakes.ts";

const SECRET = "a-node-secret-for-tests-0123456789";
const SAMPLING = { maxTokens: 8, temperature: 0, topP: 1, topK: 0, seed: 1, stop: [], frequencyPenalty: 0, presencePenalty: 0 };
const req = (text: string): InferenceRequest => ({ endpointId: "ep1", prompt: { kind: "text", text }, sampling: SAMPLING });

/** A fake pool whose generations with prompt "hold" wait until cancelled (they record the cancellation). */
class HoldingPool extends FakePool {
  cancelled = 0;
  override async generate(r: InferenceRequest, o: { onToken?: (d: string) => void; signal?: AbortSignal }): Promise<InferenceResult> {
    if (r.prompt.kind !== "text" || r.prompt.text !== "hold") return super.generate(r, o);
    o.onToken?.("first");
    return new Promise((_resolve, reject) =>
      o.signal?.addEventListener("abort", () => {
        this.cancelled++;
        reject(new ExecutorError("cancelled", 499, "canceled"));
      }),
    );
  }
}

class HoldingHosting extends FakeHosting {
  override async startPool(spec: PoolSpec): Promise<HostingPool> {
    const p = new HoldingPool(spec.baseModelDir, spec.units);
    this.pools.set(spec.clusterId, p);
    return p;
  }
}

async function workerNode(id: string) {
  const rows = new Map<string, NodeRow>();
  const registry: NodeAgentRegistry = {
    async upsert(n) {
      const row = { ...n, timeRegistered: new Date().toISOString(), timeHeartbeat: new Date().toISOString() };
      rows.set(n.id, row);
      return row;
    },
    async heartbeat(nodeId) {
      return rows.get(nodeId) ?? null;
    },
  };
  const hosting = new HoldingHosting();
  const agent = new NodeAgent({
    registry,
    node: { id, name: id, cores: [0, 1], memoryBytes: 1 << 30, accelerators: [], pinning: { enabled: false, reason: "test" } },
    hosting,
    heartbeatIntervalMs: 60_000,
    log: silentLogger,
  });
  const app = await buildNodeListener(agent, SECRET);
  await app.listen({ port: 0, host: "127.0.0.1" });
  const a = app.server.address();
  const address = `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}`;
  const row = await agent.start(address);
  return { agent, app, hosting, address, row };
}

const unit = (nodeId: string, index = 0) => ({ index, nodeId, cores: [index], memoryBytes: 1 << 28, pin: false });

test("the node's internal API needs the node secret: none or a wrong one is a 401", async () => {
  const n = await workerNode("w1");
  const tries: Record<string, string>[] = [{}, { authorization: "Bearer wrong-secret-of-the-same-size!" }, { authorization: SECRET }];
  for (const headers of tries) {
    const res = await fetch(`${n.address}${nodePaths.health}`, { headers });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: { reason: string } }).error.reason, "unauthenticated");
  }
  const ok = await fetch(`${n.address}${nodePaths.health}`, { headers: { authorization: `Bearer ${SECRET}` } });
  assert.equal(ok.status, 200);
  assert.equal(((await ok.json()) as { nodeId: string }).nodeId, "w1");
  await n.app.close();
  await n.agent.close();
});

test("a pool on a worker node: activate, generate with streamed tokens, cancel, set up again after the node restarts", async () => {
  const n = await workerNode("w1");
  const remote = new RemoteHosting({ nodes: { get: async (id) => (id === "w1" ? n.row : null) }, secret: SECRET });
  const pool = await remote.startPool({ clusterId: "c1", baseModelDir: "/models/base", units: [unit("w1")] });
  await pool.activate("ep1", { kind: "base" });
  const onNode = n.hosting.pools.get("c1") as HoldingPool;
  assert.deepEqual(onNode.units, [unit("w1")]);
  assert.deepEqual([...onNode.active.keys()], ["ep1"]);
  assert.deepEqual(remote.unitsOf("c1"), [unit("w1")]);

  const tokens: string[] = [];
  const r = await pool.generate(req("hello there"), { onToken: (t) => tokens.push(t) });
  assert.equal(r.text, "echo hello there");
  assert.deepEqual(tokens, ["echo", " hello", " there"]);

  // the node's own errors keep their status and reason
  await assert.rejects(
    pool.generate({ ...req("x"), endpointId: "nope" }, {}),
    (e: ExecutorError) => e.status === 404 && e.reason === "unknown_model",
  );

  // the caller goes away: the node's generation is cancelled
  const ac = new AbortController();
  const held = pool.generate(req("hold"), { onToken: () => ac.abort(), signal: ac.signal });
  await assert.rejects(held, (e: ExecutorError) => e.status === 499);
  await until(() => onNode.cancelled === 1, "the node saw the cancellation");

  // the node restarted (it holds no pool): the API node sets the pool up again and the request succeeds
  await n.agent.closePool("c1");
  assert.equal(n.agent.clusters().length, 0);
  assert.equal((await pool.generate(req("again"), {})).text, "echo again");
  assert.deepEqual([...(n.hosting.pools.get("c1") as HoldingPool).active.keys()], ["ep1"]);

  await pool.close();
  assert.equal(n.agent.clusters().length, 0, "closing the pool closes it on the node");
  await n.app.close();
  await n.agent.close();
});

test("requests in flight to a node that dies or is declared lost fail with a retryable 503", async () => {
  const n = await workerNode("w1");
  const remote = new RemoteHosting({ nodes: { get: async () => n.row }, secret: SECRET });
  const pool = await remote.startPool({ clusterId: "c1", baseModelDir: "/models/base", units: [unit("w1")] });
  await pool.activate("ep1", { kind: "base" });

  // declared lost while the request waits on it
  let started = false;
  const lost = pool.generate(req("hold"), { onToken: () => (started = true), signal: new AbortController().signal });
  await until(() => started, "the request reached the node");
  remote.nodeLost("w1");
  await assert.rejects(lost, (e: ExecutorError) => e.status === 503 && e.reason === "node_lost" && /declared lost/.test(e.message));

  // the node's process goes away (its connections close) mid-request
  started = false;
  const dying = pool.generate(req("hold"), { onToken: () => (started = true) });
  await until(() => started, "the request reached the node");
  n.app.server.closeAllConnections();
  await n.app.close();
  await assert.rejects(dying, (e: ExecutorError) => e.status === 503);
  // and a new request finds nobody listening
  await assert.rejects(pool.generate(req("x"), {}), (e: ExecutorError) => e.status === 503 && e.reason === "node_unreachable");
  await n.agent.close();
});
