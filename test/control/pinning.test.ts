// Dedicated means isolated: a unit's worker process runs on its reserved cores only (taskset), with its
// V8 heap capped by the unit's memory budget; an unpinned unit runs wherever the OS puts it.

import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { test } from "node:test";
import { allowedCpus } from "../../src/control/nodes.ts";
import { localNode, memoryBudget } from "../../src/control/index.ts";
import { HostingPoolProcess } from "../../src/control/workers/hosting-pool.ts";
import { loadPool, loadPrompt, measure, unitsFor } from "../../src/control/workers/unit-throughput.ts";
import { TINY } from "./helpers.ts";

const GiB = 1024 ** 3;
const status = (pid: number, field: string, tid?: string): string =>
  new RegExp(`^${field}:\\s*(\\S+)$`, "m").exec(readFileSync(tid ? `/proc/${pid}/task/${tid}/status` : `/proc/${pid}/status`, "utf8"))![1]!;
const cmdline = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");

test("the embedded node registers the CPUs this process may use; pinning says why when it is off", () => {
  const n = localNode({});
  assert.deepEqual(n.cores, allowedCpus());
  assert.ok(n.memoryBytes > 0);
  assert.deepEqual(n.accelerators, []);
  assert.equal(localNode({ pinning: false }).pinning.reason, "pinning turned off by the operator (--no-pinning)");
  assert.throws(() => localNode({ cores: [4000] }), /CPU 4000 is not available to this process/);
  assert.deepEqual(localNode({ cores: [4000], pinning: false }).cores, [4000], "without pinning the ids only count capacity");
});

test("a hosting unit's worker is pinned to its reserved core, its heap capped; an unpinned one is not", async (t) => {
  const node = localNode({});
  if (!node.pinning.enabled) return t.skip(`pinning is not available here: ${node.pinning.reason}`);
  const core = node.cores.at(-1)!;
  const pinned = await HostingPoolProcess.start({
    clusterId: "c1",
    baseModelDir: TINY,
    units: [{ index: 0, nodeId: "local", cores: [core], memoryBytes: 2 * GiB, pin: true }],
  });
  const free = await HostingPoolProcess.start({
    clusterId: "c2",
    baseModelDir: TINY,
    units: [{ index: 0, nodeId: "local", cores: [core], memoryBytes: 2 * GiB, pin: false }],
  });
  try {
    const [p] = pinned.pids;
    assert.equal(status(p!, "Cpus_allowed_list"), String(core));
    assert.ok(cmdline(p!).includes(`--max-old-space-size=${memoryBudget(2 * GiB).heapMb}`), cmdline(p!).join(" "));
    // every thread (ONNX Runtime's pool included) inherits the affinity
    const tids = readdirSync(`/proc/${p}/task`);
    assert.ok(tids.length > 1, "the worker has its threads");
    for (const tid of tids) assert.equal(status(p!, `Cpus_allowed_list`, tid), String(core), `thread ${tid}`);
    assert.equal(status(free.pids[0]!, "Cpus_allowed_list"), status(process.pid, "Cpus_allowed_list"));
  } finally {
    await pinned.close();
    await free.close();
  }
});

test("sizing: a unit's measured throughput, and the units a target needs with headroom", async () => {
  assert.equal(unitsFor(1000, 400, 0.2), 3, "1200 / 400");
  assert.equal(unitsFor(1000, 500, 0), 2);
  assert.equal(unitsFor(1, 500, 0.2), 1, "at least one unit");
  assert.throws(() => unitsFor(1000, 0, 0.2), /served no tokens/);
  const pool = await loadPool(TINY, [
    { index: 0, nodeId: "local", cores: [allowedCpus().at(-1)!], memoryBytes: 2 * GiB, pin: localNode({}).pinning.enabled },
  ]);
  try {
    const r = await measure(pool, loadPrompt(TINY), { concurrency: 2, maxTokens: 4 }, 0.5);
    assert.ok(r.requests >= 1 && r.tokens >= r.requests && r.tokens <= 4 * r.requests, JSON.stringify(r));
    assert.ok(r.tokensPerSecond > 0 && r.seconds >= 0.5);
  } finally {
    await pool.close();
  }
});
