// The rate limiter's buckets stay bounded however many keys and client addresses come (each failed
// authentication from a new address makes one), and bounding them does not let a busy client escape.

import assert from "node:assert/strict";
import { test } from "node:test";
import { TokenBuckets } from "../../src/api/auth.ts";

test("buckets: a burst, then the sustained rate; empty() takes nothing", () => {
  const b = new TokenBuckets({ perSecond: 2, burst: 3 });
  const t = 1_000_000;
  assert.deepEqual(
    [1, 2, 3, 4].map(() => b.take("k", t)),
    [true, true, true, false],
  );
  assert.equal(b.empty("k", t), true);
  assert.equal(b.empty("k", t + 500), false, "one token back after 0.5 s at 2/s");
  assert.equal(b.empty("k", t + 500), false, "empty() took nothing");
  assert.equal(b.take("k", t + 500), true);
  assert.equal(b.take("k", t + 500), false);
  assert.equal(b.empty("never-seen", t), false);
});

test("buckets stay at most max however many ids come, drained ones included; the busiest is kept", () => {
  const b = new TokenBuckets({ perSecond: 0.001, burst: 1 }, 100);
  let t = 0;
  // a client that keeps trying is limited throughout, while 10,000 other ids each drain their bucket once
  assert.equal(b.take("busy", t), true);
  for (let i = 0; i < 10_000; i++) {
    assert.equal(b.take(`ip:${i}`, ++t), true);
    assert.ok(b.size <= 100, `size ${b.size} after ${i + 1} ids`);
    if (i % 50 === 0) assert.equal(b.take("busy", t), false, "the busy client's bucket was not forgotten");
  }
  assert.equal(b.size, 100);
});
