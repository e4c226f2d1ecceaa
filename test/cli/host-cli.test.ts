// `sprig host`'s flags: --adapter-host-mb (the host-memory adapter tier) is listed in --help, checked
// (a clear error naming the flag), and becomes the engine's adapterHostBytes.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { hostEngineOptions } from "../../src/cli/commands/host.ts";
import { HostingEngine } from "../../src/serving/hosting/hosting-engine.ts";

const sprig = (...args: string[]) => spawnSync(process.execPath, ["bin/sprig.mjs", ...args], { encoding: "utf8" });
const MODEL = "test/fixtures/models/tiny-llama";
const FLAGS = {
  model: MODEL,
  maxBatchSize: "4",
  maxAdapters: "2",
  maxLoraAdapters: "0",
  loraRank: "8",
  maxFullModels: "0",
  kvCacheMb: "16",
  adapterHostMb: "256",
  maxQueue: "8",
};

test("host --help lists --adapter-host-mb with its default", () => {
  const r = sprig("host", "--help");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout.replace(/\s+/g, " "), /--adapter-host-mb <mb> host-memory tier: .* \(default: "256"\)/);
});

test("host refuses a negative or non-numeric --adapter-host-mb before loading anything", () => {
  for (const [v, why] of [
    ["-1", /--adapter-host-mb: must be ≥ 0, got -1/],
    ["lots", /--adapter-host-mb: 'lots' is not a number/],
  ] as const) {
    const r = sprig("host", "--model", MODEL, "--port", "0", `--adapter-host-mb=${v}`);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, why);
  }
});

test("--adapter-host-mb becomes the engine's host-tier budget (0 sends adapters without a row to disk)", async () => {
  assert.equal(hostEngineOptions({ ...FLAGS, adapterHostMb: "1.5" }).adapterHostBytes, 1.5 * 2 ** 20);
  const engine = await HostingEngine.create(hostEngineOptions({ ...FLAGS, adapterHostMb: "0" }));
  try {
    assert.equal(engine.stats().tiers.hostBudgetBytes, 0);
  } finally {
    await engine.close();
  }
  const dflt = await HostingEngine.create(hostEngineOptions(FLAGS));
  try {
    assert.equal(dflt.stats().tiers.hostBudgetBytes, 256 * 2 ** 20);
  } finally {
    await dflt.close();
  }
});
