// The fine-tune worker's reports name what a path is, never the path itself.

import assert from "node:assert/strict";
import { test } from "node:test";
import { pathRedactor, redactWire } from "../../src/control/workers/redact-paths.ts";

const spec = {
  baseModelDir: "/srv/sprig/models/base",
  initAdapterDir: null,
  dataFile: "/srv/sprig/objects/ns/b/train.jsonl",
  validationDataFile: undefined,
  outputDir: "/srv/sprig/artifacts/models/m1",
  checkpointDir: "/srv/sprig/artifacts/jobs/m1/checkpoints",
};

test("every path of the spec is replaced by its label, a longer path before its prefix", () => {
  const redact = pathRedactor({ ...spec, checkpointDir: "/srv/sprig/artifacts/models/m1/ckpt" });
  assert.equal(redact("wrote /srv/sprig/artifacts/models/m1: done"), "wrote <custom model>: done");
  assert.equal(redact("saved /srv/sprig/artifacts/models/m1/ckpt/step-4"), "saved <checkpoints>/step-4");
  assert.equal(
    redact("cannot read /srv/sprig/objects/ns/b/train.jsonl twice: /srv/sprig/objects/ns/b/train.jsonl"),
    "cannot read <training data> twice: <training data>",
  );
  assert.equal(redact("nothing to hide"), "nothing to hide");
});

test("an error's message and hint are redacted, its status, reason and lines kept", () => {
  const redact = pathRedactor(spec);
  const e = redactWire(
    {
      name: "E",
      status: 400,
      reason: "bad_data",
      message: "bad /srv/sprig/objects/ns/b/train.jsonl",
      hint: "see /srv/sprig/models/base",
      lines: [{ line: 3, reason: "x" }],
    },
    redact,
  );
  assert.deepEqual(e, {
    name: "E",
    status: 400,
    reason: "bad_data",
    message: "bad <training data>",
    hint: "see <base model>",
    lines: [{ line: 3, reason: "x" }],
  });
});
