// The retry-token rules on their own: a token in use by a running request is a 409 until it answers; a
// success is replayed, a failure forgets the token; rows older than the window are purged.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Idempotency, ServiceError } from "../../src/control/index.ts";
import { RetryTokenRepo, openDatabase } from "../../src/store/index.ts";

test("retry tokens: running → 409, success replayed, failure forgotten, expiry after the window", async () => {
  const db = await openDatabase(":memory:");
  let now = Date.parse("2026-01-01T00:00:00Z");
  const idem = new Idempotency(new RetryTokenRepo(db), 3_600_000, () => now);
  const req = { method: "POST", path: "/20231130/endpoints", body: { b: 1, a: [1, { y: 2, x: 1 }] } };

  const first = await idem.begin("k1", "t", req);
  assert.equal(first.kind, "run");
  await assert.rejects(
    async () => idem.begin("k1", "t", req),
    (e: unknown) => e instanceof ServiceError && e.status === 409 && /still being processed/.test(e.message),
  );
  if (first.kind === "run") await first.finish({ status: 200, headers: { etag: "e1" }, body: '{"id":"x"}' });
  const replay = await idem.begin("k1", "t", { ...req, body: { a: [1, { x: 1, y: 2 }], b: 1 } });
  assert.deepEqual(replay, { kind: "replay", answer: { status: 200, headers: { etag: "e1" }, body: '{"id":"x"}' } });
  await assert.rejects(
    async () => idem.begin("k1", "t", { ...req, body: { a: [{ x: 1, y: 2 }, 1], b: 1 } }),
    /different request/,
    "array order matters",
  );

  const failed = await idem.begin("k1", "u", req);
  if (failed.kind === "run") await failed.finish({ status: 409, headers: {}, body: "" });
  assert.equal((await idem.begin("k1", "u", req)).kind, "run", "a failure keeps nothing");

  now += 3_600_001;
  assert.equal((await idem.begin("k1", "t", { ...req, body: {} })).kind, "run", "expired: the token is free");
  await db.close();
});
