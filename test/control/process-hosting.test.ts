// The process executor's pool registry stays bounded: a closed hosting pool leaves it, so a long-running
// server whose clusters come and go (endpoints created and deleted) does not keep every pool it ever ran.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ProcessHosting } from "../../src/control/workers/process-executors.ts";
import { TINY } from "./helpers.ts";

const unit = { index: 0, nodeId: "local", cores: [0], memoryBytes: 2 * 1024 ** 3, pin: false };

test("a closed hosting pool is forgotten by the executor; the others stay", async () => {
  const ex = new ProcessHosting();
  const a = await ex.startPool({ clusterId: "a", baseModelDir: TINY, units: [unit] });
  const b = await ex.startPool({ clusterId: "b", baseModelDir: TINY, units: [unit] });
  try {
    assert.deepEqual([...ex.pools.keys()].sort(), ["a", "b"]);
    await a.close();
    assert.deepEqual([...ex.pools.keys()], ["b"], "the closed pool left the registry");
    assert.equal(ex.pools.get("b"), b);
    // the same cluster started again (its next endpoint) is a new entry, closed the same way
    const again = await ex.startPool({ clusterId: "a", baseModelDir: TINY, units: [unit] });
    assert.equal(ex.pools.get("a"), again);
    await again.close();
    assert.deepEqual([...ex.pools.keys()], ["b"]);
  } finally {
    await a.close();
    await b.close();
  }
  assert.equal(ex.pools.size, 0);
});
