// A BASE model pulled from the (stand-in) Hugging Face Hub over the API — modelSource HUGGING_FACE_MODEL
// — and with `sprig model pull`: gated and unsupported models are 400s that store nothing; an accepted one
// is CREATING until its weights are in the server's Hugging Face cache, then ACTIVE and fine-tunable.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { FakeHub } from "../models/hub/fake-hub.ts";
import { apiHarness, auth } from "./helpers.ts";

const TINY = "test/fixtures/models/tiny-llama";
const C1 = "1111111111111111111111111111111111111111";
const BIN = join(process.cwd(), "bin/sprig.mjs");
const files = () => Object.fromEntries(readdirSync(TINY).map((f) => [f, readFileSync(join(TINY, f))]));

test("modelSource HUGGING_FACE_MODEL pulls a BASE model into the server's cache; bad ones are refused up front; sprig model pull", async () => {
  const hub = new FakeHub({
    "sprig-test/tiny-llama": { commit: C1, refs: ["main"], lfsOver: 4096, gatedToken: "hf_ok", files: files() },
    "sprig-test/neox": {
      commit: C1,
      refs: ["main"],
      lfsOver: 16,
      files: { "config.json": Buffer.from('{"model_type": "gpt_neox", "vocab_size": 10}'), "model.safetensors": Buffer.alloc(64) },
    },
  });
  await hub.start();
  const home = mkdtempSync(join(tmpdir(), "sprig-hfhome-"));
  const saved = {
    HF_ENDPOINT: process.env.HF_ENDPOINT,
    HF_HOME: process.env.HF_HOME,
    HF_TOKEN: process.env.HF_TOKEN,
    HF_HUB_CACHE: process.env.HF_HUB_CACHE,
  };
  Object.assign(process.env, { HF_ENDPOINT: hub.url, HF_HOME: home });
  delete process.env.HF_TOKEN;
  delete process.env.HF_HUB_CACHE;
  const h = await apiHarness();
  const post = (modelSource: Record<string, unknown>) =>
    h.svc.app.inject({
      method: "POST",
      url: "/20231130/models",
      headers: auth(h.keyA),
      payload: { compartmentId: "compA", modelSource: { sourceType: "HUGGING_FACE_MODEL", ...modelSource } },
    });
  try {
    const gated = await post({ modelId: "sprig-test/tiny-llama" });
    assert.equal(gated.statusCode, 400);
    assert.match(gated.json().message, /^modelSource: .*gated or private: give a Hugging Face token/);
    const neox = await post({ modelId: "sprig-test/neox" });
    assert.equal(neox.statusCode, 400);
    assert.match(neox.json().message, /Sprig cannot run this model:[\s\S]*"gpt_neox" is not supported/);
    assert.ok(
      hub.log.every((r) => !r.file?.endsWith(".safetensors")),
      "no weight was asked for",
    );
    const bad = await post({ modelId: "not-an-id" });
    assert.equal(bad.statusCode, 400);
    const before = (await h.svc.app.inject({ method: "GET", url: "/20231130/models?type=BASE", headers: auth(h.keyA) })).json().items
      .length;

    const created = await post({ modelId: "sprig-test/tiny-llama", revision: "main", accessToken: "hf_ok" });
    assert.equal(created.statusCode, 200, created.body);
    const id = created.json().id;
    let m = created.json();
    for (let i = 0; i < 400 && m.lifecycleState === "CREATING"; i++) {
      await new Promise((r) => setTimeout(r, 25));
      m = (await h.svc.app.inject({ method: "GET", url: `/20231130/models/${id}`, headers: auth(h.keyA) })).json();
    }
    assert.equal(m.lifecycleState, "ACTIVE", m.lifecycleDetails);
    assert.equal(m.artifactPath, join(home, "hub", "models--sprig-test--tiny-llama", "snapshots", C1));
    assert.equal(m.architecture, "llama");
    assert.deepEqual(m.capabilities, ["TEXT_GENERATION", "CHAT", "FINE_TUNE"]);
    assert.equal(m.version, C1.slice(0, 12));
    const wr = (
      await h.svc.app.inject({
        method: "GET",
        url: `/20231130/workRequests/${created.headers["opc-work-request-id"]}`,
        headers: auth(h.keyA),
      })
    ).json();
    assert.equal(wr.status, "SUCCEEDED");
    assert.equal(wr.percentComplete, 100);
    assert.equal(
      (await h.svc.app.inject({ method: "GET", url: "/20231130/models?type=BASE", headers: auth(h.keyA) })).json().items.length,
      before + 1,
      "only the accepted pull made a model",
    );
    assert.ok(!JSON.stringify((await h.svc.store.models.get(id))!.value).includes("hf_ok"), "the token is not stored");

    // the CLI pulls into the same cache: nothing to download, and offline it needs no Hub at all
    const env = { ...process.env, HF_TOKEN: "hf_ok" };
    const run = promisify(execFile);
    const out = JSON.parse(
      (await run(process.execPath, [BIN, "model", "pull", "sprig-test/tiny-llama", "--refresh", "--json"], { env })).stdout,
    );
    assert.equal(out.dir, m.artifactPath);
    assert.equal(out.downloadedBytes, 0);
    await hub.stop();
    const offline = JSON.parse(
      (
        await run(process.execPath, [BIN, "model", "pull", "sprig-test/tiny-llama@main", "--json"], {
          env: { ...env, HF_HUB_OFFLINE: "1" },
        })
      ).stdout,
    );
    assert.equal(offline.fromCache, true);
    await assert.rejects(
      run(process.execPath, [BIN, "model", "pull", "sprig-test/other", "--json"], { env: { ...env, HF_HUB_OFFLINE: "1" } }),
      /HF_HUB_OFFLINE is set and the cache .* has no complete snapshot/,
    );
  } finally {
    await h.svc.close();
    await hub.stop();
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  }
});
