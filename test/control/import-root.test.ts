// HUGGING_FACE_DIRECTORY imports are confined: only below an operator's import root (after symlinks),
// never the service's data directory (another tenant's artifacts), and refusals reveal nothing outside.

import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, realpathSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import type { ServiceError } from "../../src/control/index.ts";
import { confineImportPath } from "../../src/control/import-root.ts";
import { apiHarness, auth } from "../api/helpers.ts";
import { A, harness } from "./helpers.ts";

const TINY = resolve("test/fixtures/models/tiny-llama");

/** A root with a model, a link to a model outside it, a link to the data dir, and the data dir inside it. */
function layout() {
  const top = realpathSync(mkdtempSync(join(tmpdir(), "sprig-import-")));
  const root = join(top, "models");
  const outside = join(top, "elsewhere");
  mkdirSync(root, { recursive: true });
  cpSync(TINY, join(root, "good"), { recursive: true });
  cpSync(TINY, join(outside, "secret"), { recursive: true });
  symlinkSync(join(outside, "secret"), join(root, "link-out"));
  symlinkSync(outside, join(root, "dir-out"));
  return { top, root, outside };
}

const refused = (re: RegExp) => (e: ServiceError) => e.status === 400 && re.test(e.message);

test("no import root configured: importing from the server's disk is refused with how to allow it", async () => {
  const h = await harness({ modelImportRoots: [] });
  await assert.rejects(
    h.cp.models.create(A, { compartmentId: "compA", modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: TINY } }),
    refused(/disabled.*--import-root/),
  );
  await h.cp.close();
});

test("inside the root: registered at its real path; outside, through links, by '..': refused alike", async () => {
  const { root, outside } = layout();
  const c = { roots: [root], forbidden: [] };
  assert.equal(await confineImportPath(join(root, "good"), c), join(root, "good"));
  assert.equal(await confineImportPath(join(root, "x", "..", "good"), c), join(root, "good"));
  const outsideMsg = (p: string) =>
    refused(
      new RegExp(`^modelSource\\.path: ${p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is not inside a directory this service imports from`),
    );
  for (const p of [
    outside,
    join(outside, "secret"),
    join(root, "..", "elsewhere", "secret"),
    "/etc",
    "/no/such/dir",
    join(root, "link-out"),
    join(root, "dir-out", "secret"),
    join(root, "dir-out", "missing"),
  ])
    await assert.rejects(confineImportPath(p, c), outsideMsg(p), p);
  // what exists outside is not revealed: a missing path behind a link gets the same answer as an existing one
  const a = await confineImportPath(join(root, "dir-out", "missing"), c).catch((e: Error) => e.message);
  const b = await confineImportPath(join(root, "dir-out", "secret"), c).catch((e: Error) => e.message);
  assert.equal(a.replace("missing", "X"), b.replace("secret", "X"));
  // missing inside the root: said so
  await assert.rejects(confineImportPath(join(root, "nope"), c), refused(/nope is not a readable model directory/));
});

test("the service's data directory is never importable, even inside the root: another tenant's weights stay theirs", async () => {
  const { root } = layout();
  const dataDir = join(root, "sprig-data");
  const h = await apiHarness({ control: { modelImportRoots: [root] } }, dataDir);
  try {
    const post = (key: string, path: string) =>
      h.svc.app.inject({
        method: "POST",
        url: "/20231130/models",
        headers: auth(key),
        payload: { compartmentId: key === h.keyA ? "compA" : "compB", modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path } },
      });
    const ok = await post(h.keyA, join(root, "good"));
    assert.equal(ok.statusCode, 200, ok.body);
    // compartment A's custom model artifact, as a fine-tune would have written it
    const artifact = join(dataDir, "artifacts", "models", "ocid1.generativeaimodel.a");
    cpSync(TINY, artifact, { recursive: true });
    for (const p of [artifact, join(dataDir, "artifacts"), dataDir, join(dataDir, "objects")]) {
      const r = await post(h.keyB, p);
      assert.equal(r.statusCode, 400, `${p}: ${r.body}`);
      assert.match(r.json().message, /is not inside a directory this service imports from/);
      assert.ok(r.headers["opc-request-id"]);
    }
    // a link in the root to the data directory leads nowhere either
    symlinkSync(join(dataDir, "artifacts"), join(root, "link-artifacts"));
    const r = await post(h.keyB, join(root, "link-artifacts", "models", "ocid1.generativeaimodel.a"));
    assert.equal(r.statusCode, 400, r.body);
    assert.doesNotMatch(r.json().message, /sprig-data/);
    // a bad directory inside the root: the reason, with the caller's own path only
    const bad = await post(h.keyB, join(root, "x", "..", "dir-out"));
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().message, /is not inside/);
  } finally {
    await h.svc.close();
  }
});
