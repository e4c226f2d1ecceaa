// Pulling from the Hub, against a local stand-in (fake-hub.ts): the Hugging Face cache layout, revision →
// commit, LFS redirects without the token, resume after a broken download, corrupt blobs fetched again,
// the cache reused without any request, offline mode, gated repositories, and unsupported architectures
// refused before any weight is fetched.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadModel } from "../../../src/models/index.ts";
import { HubError, pullModel } from "../../../src/models/hub/pull.ts";
import { FakeHub, type FakeRepo } from "./fake-hub.ts";

const TINY = "test/fixtures/models/tiny-llama";
const SHARDED = "test/fixtures/models/tiny-llama-f16-sharded";
const C1 = "1111111111111111111111111111111111111111";
const C2 = "2222222222222222222222222222222222222222";
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const filesOf = (dir: string, extra: Record<string, Buffer> = {}) => ({ ...Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f))])), ...extra });

function repos(): Record<string, FakeRepo> {
  const neox = JSON.stringify({ architectures: ["GPTNeoXForCausalLM"], model_type: "gpt_neox", hidden_size: 32, num_hidden_layers: 2, vocab_size: 100 });
  return {
    "sprig-test/tiny-llama": { commit: C1, refs: ["main", "v1.0"], lfsOver: 4096, files: filesOf(TINY, { "README.md": Buffer.from("# tiny\n"), "pytorch_model.bin": Buffer.from("not read") }) },
    "sprig-test/sharded": { commit: C2, refs: ["main"], lfsOver: 4096, files: filesOf(SHARDED) },
    "sprig-test/gated": { commit: C1, refs: ["main"], lfsOver: 4096, gatedToken: "hf_secret", files: filesOf(TINY) },
    "sprig-test/neox": { commit: C2, refs: ["main"], lfsOver: 16, files: { "config.json": Buffer.from(neox), "model.safetensors": Buffer.alloc(4096, 1) } },
  };
}

async function withHub(f: (hub: FakeHub, cacheDir: string) => Promise<void>): Promise<void> {
  const hub = new FakeHub(repos());
  await hub.start();
  try {
    await f(hub, mkdtempSync(join(tmpdir(), "sprig-hf-")));
  } finally {
    await hub.stop();
  }
}

const weightGets = (hub: FakeHub) => hub.log.filter((r) => r.method === "GET" && r.file?.endsWith(".safetensors"));

test("a pull fills the Hugging Face cache layout and the snapshot loads; a second pull makes no request", () =>
  withHub(async (hub, cacheDir) => {
    const r = await pullModel("sprig-test/tiny-llama", { endpoint: hub.url, cacheDir, token: "hf_secret", retryDelayMs: 1 });
    const root = join(cacheDir, "models--sprig-test--tiny-llama");
    assert.equal(r.commit, C1);
    assert.equal(r.dir, join(root, "snapshots", C1));
    assert.equal(readFileSync(join(root, "refs", "main"), "utf8"), C1);
    const weights = readFileSync(join(TINY, "model.safetensors"));
    assert.equal(readlinkSync(join(r.dir, "model.safetensors")), join("..", "..", "blobs", sha256(weights)), "LFS blobs are named by their sha256");
    assert.ok(lstatSync(join(r.dir, "config.json")).isSymbolicLink());
    assert.ok(!existsSync(join(r.dir, "README.md")) && !existsSync(join(r.dir, "pytorch_model.bin")), "only what Sprig reads is fetched");
    assert.ok(hub.log.some((x) => x.server === "cdn"), "LFS files come through the redirect");
    assert.ok(hub.log.filter((x) => x.server === "cdn").every((x) => x.auth === null), "the token stays with the Hub");
    assert.ok(hub.log.filter((x) => x.server === "hub").every((x) => x.auth === "Bearer hf_secret"));
    assert.equal(r.downloadedBytes, r.files.reduce((n, f) => n + readFileSync(join(TINY, f)).length, 0));
    const m = await loadModel(r.dir);
    const want = await loadModel(TINY);
    for (const [k, w] of want.weights) assert.deepEqual(m.weights.get(k)!.data, w.data, k);
    assert.ok(m.tokenizer);

    const before = hub.log.length;
    const again = await pullModel("sprig-test/tiny-llama", { endpoint: hub.url, cacheDir });
    assert.equal(again.fromCache, true);
    assert.equal(again.dir, r.dir);
    assert.equal(hub.log.length, before, "a complete cached snapshot is used without any request");
    const offline = await pullModel("sprig-test/tiny-llama", { endpoint: "http://127.0.0.1:9", cacheDir, offline: true });
    assert.equal(offline.dir, r.dir);

    // a tag resolves to its commit and gets its own ref; the blobs are shared
    const tagged = await pullModel("sprig-test/tiny-llama@v1.0", { endpoint: hub.url, cacheDir, refresh: true });
    assert.equal(tagged.commit, C1);
    assert.equal(readFileSync(join(root, "refs", "v1.0"), "utf8"), C1);
    assert.equal(tagged.downloadedBytes, 0, "blobs already in the cache are verified, not fetched");
  }));

test("sharded checkpoints: the index's shards are fetched; HF_ENDPOINT and HF_HOME are honoured", () =>
  withHub(async (hub, cacheDir) => {
    const saved = { HF_ENDPOINT: process.env.HF_ENDPOINT, HF_HOME: process.env.HF_HOME, HF_HUB_CACHE: process.env.HF_HUB_CACHE };
    process.env.HF_ENDPOINT = hub.url;
    process.env.HF_HOME = cacheDir;
    delete process.env.HF_HUB_CACHE;
    try {
      const r = await pullModel("sprig-test/sharded");
      assert.equal(r.dir, join(cacheDir, "hub", "models--sprig-test--sharded", "snapshots", C2));
      assert.ok(r.files.filter((f) => f.endsWith(".safetensors")).length >= 2, JSON.stringify(r.files));
      const m = await loadModel(r.dir);
      assert.equal(m.weights.size, (await loadModel(SHARDED)).weights.size);
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }));

test("a broken download resumes with a range request; an interrupted earlier pull's partial blob is continued", () =>
  withHub(async (hub, cacheDir) => {
    const weights = readFileSync(join(TINY, "model.safetensors"));
    hub.cutAfter.set("sprig-test/tiny-llama/model.safetensors", 5000);
    const r = await pullModel("sprig-test/tiny-llama", { endpoint: hub.url, cacheDir, retryDelayMs: 1 });
    assert.deepEqual(weightGets(hub).map((g) => g.range), [null, "bytes=5000-"]);
    assert.ok(readFileSync(join(r.dir, "model.safetensors")).equals(weights));

    // a pull killed mid-file leaves blobs/ETAG.incomplete; the next one asks only for the rest
    const cache2 = mkdtempSync(join(tmpdir(), "sprig-hf-"));
    const blobs = join(cache2, "models--sprig-test--tiny-llama", "blobs");
    await import("node:fs/promises").then((fs) => fs.mkdir(blobs, { recursive: true }));
    writeFileSync(join(blobs, `${sha256(weights)}.incomplete`), weights.subarray(0, 7000));
    hub.log.length = 0;
    const r2 = await pullModel("sprig-test/tiny-llama", { endpoint: hub.url, cacheDir: cache2 });
    assert.deepEqual(weightGets(hub).map((g) => g.range), ["bytes=7000-"]);
    assert.ok(readFileSync(join(r2.dir, "model.safetensors")).equals(weights));
    assert.ok(!existsSync(join(blobs, `${sha256(weights)}.incomplete`)));
  }));

test("a corrupt download or cached blob fails its sha256 and is fetched again", () =>
  withHub(async (hub, cacheDir) => {
    const weights = readFileSync(join(TINY, "model.safetensors"));
    hub.corruptOnce.add("sprig-test/tiny-llama/model.safetensors");
    const r = await pullModel("sprig-test/tiny-llama", { endpoint: hub.url, cacheDir });
    assert.equal(weightGets(hub).length, 2, "fetched twice");
    assert.ok(readFileSync(join(r.dir, "model.safetensors")).equals(weights));

    const blob = join(cacheDir, "models--sprig-test--tiny-llama", "blobs", sha256(weights));
    const bad = Buffer.from(weights);
    bad[100]! ^= 1;
    writeFileSync(blob, bad);
    hub.log.length = 0;
    await pullModel("sprig-test/tiny-llama", { endpoint: hub.url, cacheDir, refresh: true });
    assert.equal(weightGets(hub).length, 1);
    assert.ok(readFileSync(blob).equals(weights));

    // a server that keeps sending bad bytes is an error, not an endless loop
    const cache2 = mkdtempSync(join(tmpdir(), "sprig-hf-"));
    hub.corruptOnce.add("sprig-test/tiny-llama/model.safetensors");
    const orig = hub.corruptOnce.delete.bind(hub.corruptOnce);
    hub.corruptOnce.delete = (k: string) => (k === "sprig-test/tiny-llama/model.safetensors" ? true : orig(k));
    await assert.rejects(pullModel("sprig-test/tiny-llama", { endpoint: hub.url, cacheDir: cache2 }), (e: unknown) => e instanceof HubError && e.kind === "integrity" && /does not match its sha256/.test(e.message));
  }));

test("gated repositories need the token; offline mode never asks; unsupported architectures are refused before the weights", () =>
  withHub(async (hub, cacheDir) => {
    await assert.rejects(pullModel("sprig-test/gated", { endpoint: hub.url, cacheDir, token: null }), (e: unknown) => e instanceof HubError && e.kind === "auth" && /401 .*gated or private: give a Hugging Face token \(HF_TOKEN/.test(e.message));
    await assert.rejects(pullModel("sprig-test/gated", { endpoint: hub.url, cacheDir, token: "hf_wrong" }), (e: unknown) => e instanceof HubError && e.kind === "auth" && /the token cannot read it/.test(e.message));
    const saved = process.env.HF_TOKEN;
    process.env.HF_TOKEN = "hf_secret";
    try {
      assert.equal((await pullModel("sprig-test/gated", { endpoint: hub.url, cacheDir })).commit, C1);
    } finally {
      if (saved === undefined) delete process.env.HF_TOKEN;
      else process.env.HF_TOKEN = saved;
    }

    hub.log.length = 0;
    await assert.rejects(pullModel("sprig-test/sharded", { endpoint: hub.url, cacheDir, offline: true }), (e: unknown) => e instanceof HubError && e.kind === "offline");
    assert.equal(hub.log.length, 0);

    await assert.rejects(pullModel("sprig-test/neox", { endpoint: hub.url, cacheDir }), (e: unknown) => e instanceof HubError && e.kind === "unsupported" && /Sprig cannot run this model:[\s\S]*"gpt_neox" is not supported/.test(e.message));
    assert.equal(weightGets(hub).length, 0, "no weight was fetched");
    assert.ok(hub.log.every((x) => !x.file?.endsWith(".safetensors")), "not even a HEAD of the weights");

    await assert.rejects(pullModel("sprig-test/nope", { endpoint: hub.url, cacheDir }), (e: unknown) => e instanceof HubError && e.kind === "not_found");
    await assert.rejects(pullModel("sprig-test/tiny-llama@no-such-branch", { endpoint: hub.url, cacheDir }), (e: unknown) => e instanceof HubError && e.kind === "not_found");
    await assert.rejects(pullModel("not a model id", { endpoint: hub.url, cacheDir }), /expected ORG\/NAME/);
  }));
