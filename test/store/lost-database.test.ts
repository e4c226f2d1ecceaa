// A lost or damaged database is never taken for a fresh install: with artifacts or objects left in the
// data directory, a missing or 0-byte sprig.db refuses to open, and a damaged one names the file and the restore.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Store, StoreError } from "../../src/store/index.ts";

const fresh = () => mkdtempSync(join(tmpdir(), "sprig-lostdb-"));
const dropDb = (dir: string) => {
  for (const f of ["sprig.db-wal", "sprig.db-shm"]) rmSync(join(dir, f), { force: true });
};

test("a fresh or empty data directory opens as a new install", async () => {
  const dir = fresh();
  await (await Store.open(dir)).close();
  // an empty database with nothing else beside it (e.g. created and never used) still opens
  dropDb(dir);
  truncateSync(join(dir, "sprig.db"), 0);
  await (await Store.open(dir)).close();
});

test("a 0-byte or missing sprig.db beside artifacts refuses to start, naming the file and the restore", async () => {
  for (const how of ["empty", "missing"] as const) {
    const dir = fresh();
    const s = await Store.open(dir);
    await s.apiKeys.create(["c"]);
    await s.close();
    mkdirSync(join(dir, "artifacts", "models", "ocid1.generativeaimodel.x"), { recursive: true });
    dropDb(dir);
    if (how === "empty") truncateSync(join(dir, "sprig.db"), 0);
    else rmSync(join(dir, "sprig.db"));
    await assert.rejects(
      Store.open(dir),
      (e: Error) =>
        e instanceof StoreError &&
        e.message.includes(join(dir, "sprig.db")) &&
        new RegExp(how === "empty" ? "empty \\(0 bytes\\)" : "missing").test(e.message) &&
        /restore/.test(e.message) &&
        /Backups/.test(e.message),
    );
  }
  // uploaded objects alone count too
  const dir = fresh();
  mkdirSync(join(dir, "objects"), { recursive: true });
  writeFileSync(join(dir, "objects", "blob"), "x");
  await assert.rejects(Store.open(dir), StoreError);
});

test("a damaged sprig.db names the file and how to restore it", async () => {
  const dir = fresh();
  writeFileSync(join(dir, "sprig.db"), Buffer.alloc(8192, 0x5a));
  await assert.rejects(
    Store.open(dir),
    (e: Error) =>
      e instanceof StoreError && e.message.includes(join(dir, "sprig.db")) && /damaged/.test(e.message) && /backup/.test(e.message),
  );
});
