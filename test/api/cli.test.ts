// The CLI against a live `sprig serve` (a real process on an ephemeral port): keys, clusters, data,
// models (import and fine-tune), endpoints (create, deactivate, activate), complete and chat; then a
// graceful shutdown on SIGTERM.

import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);
const BIN = join(process.cwd(), "bin/sprig.mjs");
const TINY = join(process.cwd(), "test/fixtures/models/tiny-llama");

async function sprig(args: string[], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await run(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, maxBuffer: 1 << 24 });
  return stdout;
}

/** Start `sprig serve` and resolve with its URL once it logs that it is serving. */
function serve(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  // the fixtures may be imported (imports from the server's disk are refused without an import root)
  const child = spawn(
    process.execPath,
    [BIN, "serve", "--port", "0", "--data-dir", dataDir, "--import-root", join(process.cwd(), "test/fixtures/models")],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  return new Promise((resolve, reject) => {
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      for (const line of buf.split("\n")) {
        const m = /"url":"([^"]+)"/.exec(line);
        if (m && line.includes("sprig is serving")) resolve({ child, url: m[1]! });
      }
    });
    child.on("exit", (code) => reject(new Error(`sprig serve exited early (${code})`)));
  });
}

test("the CLI drives the whole workflow against sprig serve", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sprig-cli-"));
  const { key } = JSON.parse(await sprig(["key", "create", "--compartment-id", "team", "--data-dir", dir, "--json"])) as { key: string };
  assert.match(key, /^sprig_/);
  const { child, url } = await serve(dir);
  const env = { SPRIG_URL: url, SPRIG_API_KEY: key };
  const cli = async (...args: string[]) => JSON.parse(await sprig(args, env));
  try {
    const base = await cli("model", "import", "--path", TINY, "--compartment-id", "team", "--name", "tiny");
    const ft = await cli("cluster", "create", "--type", "FINE_TUNING", "--compartment-id", "team");
    assert.equal(ft.lifecycleState, "ACTIVE");
    const file = join(dir, "train.jsonl");
    writeFileSync(
      file,
      Array.from({ length: 40 }, (_, i) => JSON.stringify({ prompt: `Q${i % 4}:`, completion: ` A${i % 4}` })).join("\n"),
    );
    const put = await cli("data", "put", file, "--namespace", "ns", "--bucket", "b");
    assert.equal(put.objectName, "train.jsonl");
    assert.equal((await cli("data", "list", "--namespace", "ns", "--bucket", "b")).objects[0].name, "train.jsonl");
    const custom = await cli(
      "model",
      "finetune",
      "--json",
      "--base-model-id",
      base.id,
      "--cluster-id",
      ft.id,
      "--compartment-id",
      "team",
      "--dataset",
      "ns/b/train.jsonl",
      "--epochs",
      "1",
      "--learning-rate",
      "auto",
      "--name",
      "custom",
    );
    assert.equal(custom.lifecycleState, "ACTIVE");
    assert.equal(custom.modelMetrics.modelMetricsType, "TEXT_GENERATION_MODEL_METRICS");
    assert.equal(custom.fineTuneDetails.trainingConfig.learningRate, "auto", "the request as given");
    // what "auto" (given, or left out: the batch size) resolved to; the given epochs are not auto
    assert.equal(typeof custom.modelMetrics.resolvedHyperparameters.learningRate, "number");
    assert.equal(typeof custom.modelMetrics.resolvedHyperparameters.trainingBatchSize, "number");
    assert.equal(custom.modelMetrics.resolvedHyperparameters.totalTrainingEpochs, undefined);
    const hc = await cli("cluster", "create", "--type", "HOSTING", "--compartment-id", "team");
    const ep = await cli(
      "endpoint",
      "create",
      "--model-id",
      custom.id,
      "--cluster-id",
      hc.id,
      "--compartment-id",
      "team",
      "--name",
      "my-ep",
    );
    assert.equal(ep.lifecycleState, "ACTIVE");
    const completion = await cli("complete", "--endpoint", "my-ep", "--prompt", "Q1:", "--max-tokens", "3", "--temperature", "0", "--json");
    assert.equal(completion.object, "text_completion");
    const streamed = await sprig(["complete", "--endpoint", "my-ep", "--prompt", "Q1:", "--max-tokens", "3", "--temperature", "0"], env);
    assert.equal(streamed, `${completion.choices[0].text}\n`, "streamed text matches the whole response");
    const answer = await sprig(["chat", "--endpoint", ep.id, "--message", "hello", "--max-tokens", "3", "--temperature", "0"], env);
    assert.ok(answer.endsWith("\n"));
    assert.equal((await cli("endpoint", "deactivate", ep.id)).lifecycleState, "INACTIVE");
    await assert.rejects(sprig(["complete", "--endpoint", "my-ep", "--prompt", "x", "--json"], env), /INACTIVE/);
    assert.equal((await cli("endpoint", "activate", ep.id)).lifecycleState, "ACTIVE");
    assert.equal((await cli("endpoint", "list")).length, 1);
    await assert.rejects(sprig(["cluster", "delete", hc.id], env), /still has 1 endpoint/);
  } finally {
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    child.kill("SIGTERM");
    assert.equal(await exited, 0, "graceful shutdown exits 0");
  }
});

test("a fine-tune survives SIGKILL of the whole server: after a restart it resumes and finishes", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sprig-sigkill-"));
  const { key } = JSON.parse(await sprig(["key", "create", "--compartment-id", "team", "--data-dir", dir, "--json"])) as { key: string };
  let { child, url } = await serve(dir);
  const cli = async (...args: string[]) => JSON.parse(await sprig(args, { SPRIG_URL: url, SPRIG_API_KEY: key }));
  try {
    const base = await cli("model", "import", "--path", TINY, "--compartment-id", "team");
    const ft = await cli("cluster", "create", "--type", "FINE_TUNING", "--compartment-id", "team");
    const file = join(dir, "train.jsonl");
    writeFileSync(
      file,
      Array.from({ length: 40 }, (_, i) => JSON.stringify({ prompt: `Q${i % 4}:`, completion: ` A${i % 4}` })).join("\n"),
    );
    await cli("data", "put", file, "--namespace", "ns", "--bucket", "b");
    const m = await cli(
      "model",
      "finetune",
      "--no-wait",
      "--base-model-id",
      base.id,
      "--cluster-id",
      ft.id,
      "--compartment-id",
      "team",
      "--dataset",
      "ns/b/train.jsonl",
      "--epochs",
      "120",
      "--config",
      '{"checkpointEveryNSteps": 2, "earlyStoppingPatience": 0}',
    );
    const metrics = () =>
      fetch(`${url}/20231130/models/${m.id}/metricsHistory`, { headers: { authorization: `Bearer ${key}` } }).then(
        (r) => r.json() as Promise<{ items: { step: number }[] }>,
      );
    for (let i = 0; i < 2000 && !(await metrics()).items.some((p) => p.step >= 6); i++) await new Promise((r) => setTimeout(r, 20));
    const killed = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await killed;
    ({ child, url } = await serve(dir));
    assert.equal((await cli("model", "get", m.id)).lifecycleState, "CREATING", "still a job, not lost");
    let done = await cli("model", "get", m.id);
    for (let i = 0; i < 1200 && done.lifecycleState === "CREATING"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      done = await cli("model", "get", m.id);
    }
    assert.equal(done.lifecycleState, "ACTIVE", done.lifecycleDetails);
    const events = await fetch(`${url}/20231130/models/${m.id}/events?limit=1000`, { headers: { authorization: `Bearer ${key}` } }).then(
      (r) => r.json(),
    );
    const messages = (events as { items: { message: string }[] }).items.map((e) => e.message);
    assert.ok(
      messages.some((e) => /server stopped while the fine-tune was running/.test(e)),
      JSON.stringify(messages),
    );
    assert.ok(
      messages.some((e) => /resumed from step [1-9]/.test(e)),
      JSON.stringify(messages),
    );
    // the tenant's event log never shows where the server keeps its data
    assert.ok(
      messages.every((e) => !e.includes(dir)),
      JSON.stringify(messages),
    );
    assert.ok(
      messages.some((e) => e.startsWith("wrote <custom model>")),
      JSON.stringify(messages),
    );
  } finally {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  }
});
