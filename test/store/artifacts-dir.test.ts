// The shared artifacts directory (`--artifacts-dir`): unset, artifacts and objects stay in the data
// directory as in the embedded default; set, model artifacts go there and object bytes to its objects/.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { test } from "node:test";
import { Store } from "../../src/store/index.ts";

const fresh = (p: string) => mkdtempSync(join(tmpdir(), p));

test("without an artifacts directory the data directory's layout is today's", async () => {
  const dir = fresh("sprig-art-");
  const s = await Store.open(dir);
  try {
    assert.equal(s.paths.artifacts, join(dir, "artifacts"));
    assert.equal(s.paths.objects, join(dir, "objects"));
  } finally {
    await s.close();
  }
});

test("with an artifacts directory, artifacts and uploaded objects live there, not in the data directory", async () => {
  const dir = fresh("sprig-art-data-");
  const shared = fresh("sprig-art-shared-");
  const s = await Store.open(dir, { artifactsDir: shared });
  try {
    assert.equal(s.paths.artifacts, shared);
    assert.equal(s.paths.objects, join(shared, "objects"));
    assert.equal(s.paths.database, join(dir, "sprig.db"));
    await s.objects.createBucket("ns", "b", "c");
    await s.objects.put("ns", "b", "train.jsonl", Readable.from([Buffer.from('{"prompt":"a","completion":"b"}\n')]), {
      contentType: "application/jsonl",
      maxBytes: 1024,
    });
    const p = await s.objects.path("ns", "b", "train.jsonl");
    assert.ok(p?.startsWith(join(shared, "objects")), p ?? "no path");
    assert.match(readFileSync(p!, "utf8"), /"prompt":"a"/);
    assert.equal(existsSync(join(dir, "artifacts")), false);
    assert.equal(existsSync(join(dir, "objects")), false);
  } finally {
    await s.close();
  }
});
