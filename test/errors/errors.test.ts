// The errors leaf: zod issues and problem lists formatted once, and errors that survive a process boundary.

import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import { SprigError, formatIssues, fromWire, listProblems, toWire } from "../../src/errors/index.ts";

test("formatIssues names every field, unknown keys included", () => {
  const r = z.strictObject({ a: z.number(), b: z.object({ c: z.string() }) }).safeParse({ a: "x", b: { c: 1 }, zz: 1 });
  assert.ok(!r.success);
  const msg = formatIssues(r.error.issues, "body");
  assert.match(msg, /body\.a: .*number/);
  assert.match(msg, /body\.b\.c: .*string/);
  assert.match(msg, /body\.zz: unknown field/);
  assert.equal(
    formatIssues(r.error.issues, { unknownKey: (k) => ` (did you mean ${k.slice(1)}?)` }).includes("zz: unknown field (did you mean z?)"),
    true,
  );
  const whole = z.number().safeParse("x");
  assert.ok(!whole.success);
  assert.match(formatIssues(whole.error.issues, { whole: "sampling" }), /^sampling: /);
});

test("listProblems shows the first N and counts the rest", () => {
  const ps = Array.from({ length: 11 }, (_, i) => `p${i}`);
  const msg = listProblems("bad:", ps, 8);
  assert.equal(msg.split("\n").length, 1 + 8 + 1);
  assert.match(msg, /… 3 more$/);
  assert.equal(listProblems("bad:", ["one"]), "bad:\n  one");
});

test("a SprigError crosses the wire with its status, reason and hint", () => {
  const e = new SprigError(422, "adapter_mismatch", "made for another base", "use an adapter of this base");
  e.name = "AdapterMismatchError";
  const back = fromWire(JSON.parse(JSON.stringify(toWire(e))));
  assert.ok(back instanceof SprigError);
  assert.equal(back.status, 422);
  assert.equal(back.reason, "adapter_mismatch");
  assert.equal(back.hint, "use an adapter of this base");
  assert.equal(back.name, "AdapterMismatchError");
  const plain = fromWire(toWire(new TypeError("boom")));
  assert.ok(!(plain instanceof SprigError));
  assert.equal(plain.message, "boom");
  const lines = fromWire(toWire(Object.assign(new Error("bad data"), { lines: [{ line: 3, reason: "not JSON" }] })));
  assert.deepEqual((lines as Error & { lines: unknown }).lines, [{ line: 3, reason: "not JSON" }]);
});
