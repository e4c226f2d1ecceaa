// Export over the API (and the CLI): a PEFT adapter comes back byte for byte; a merged Hugging Face
// directory gives the logits of base + adapter (≤ 1e-4); GGUF files (F32, F16, Q8_0) of an adapted
// Llama model run in llama.cpp (node-llama-cpp) and greedy-decode the ids Sprig's generate does.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { getLlama } from "node-llama-cpp";
import { baseFingerprint } from "../../src/adapters/fingerprint.ts";
import { createIa3 } from "../../src/adapters/ia3.ts";
import { loadAdapter, saveAdapter } from "../../src/adapters/peft-io.ts";
import { hooksFor } from "../../src/cli/adapter-flag.ts";
import { loadModel } from "../../src/models/index.ts";
import { generate } from "../../src/serving/generate.ts";
import { ModelRunner, forwardAll } from "../../src/serving/model-runner.ts";
import { samplingOptions } from "../../src/serving/sampling.ts";
import { Rng } from "../../src/engine/index.ts";
import { apiHarness } from "./helpers.ts";

const TINY = join(process.cwd(), "test/fixtures/models/tiny-llama");
const SPRIG_BASE = join(process.cwd(), "models/sprig-base");
const G = "test/fixtures/golden/grad";
const BIN = join(process.cwd(), "bin/sprig.mjs");
const run = promisify(execFile);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function harness() {
  const h = await apiHarness();
  const url = await h.svc.listen(0);
  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: Json; bytes: Buffer }> => {
    const r = await fetch(url + path, {
      method,
      headers: {
        authorization: `Bearer ${h.keyA}`,
        ...(body !== undefined && !(body instanceof Uint8Array) ? { "content-type": "application/json" } : {}),
      },
      body: body === undefined ? undefined : body instanceof Uint8Array ? (body as unknown as BodyInit) : JSON.stringify(body),
    });
    const bytes = Buffer.from(await r.arrayBuffer());
    const json = r.headers.get("content-type")?.includes("json") && bytes.length ? JSON.parse(bytes.toString()) : null;
    return { status: r.status, json, bytes };
  };
  const ok = async (method: string, path: string, body?: unknown): Promise<Json> => {
    const r = await call(method, path, body);
    assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${r.bytes.toString().slice(0, 500)}`);
    return r.json;
  };
  const importAdapter = async (baseModelId: string, dir: string, prefix: string): Promise<Json> => {
    for (const f of ["adapter_config.json", "adapter_model.safetensors"])
      await ok("PUT", `/n/ns/b/in/o/${prefix}${f}`, new Uint8Array(readFileSync(join(dir, f))));
    return ok("POST", "/20231130/models", {
      compartmentId: "compA",
      baseModelId,
      adapterSource: { sourceType: "OBJECT_STORAGE", namespaceName: "ns", bucketName: "in", prefix },
    });
  };
  /** export, then download every object into a fresh directory */
  const exportTo = async (id: string, body: Record<string, unknown>): Promise<{ dir: string; res: Json }> => {
    const res = await ok("POST", `/20231130/models/${id}/actions/export`, { namespaceName: "ns", bucketName: "out", ...body });
    const dir = mkdtempSync(join(tmpdir(), "sprig-export-"));
    for (const o of res.objects)
      writeFileSync(join(dir, o.name.slice(res.prefix.length)), (await call("GET", `/n/ns/b/out/o/${o.name}`)).bytes);
    return { dir, res };
  };
  return { ...h, url, call, ok, importAdapter, exportTo };
}

test("export: PEFT round-trips; HF merges T-Few and LoRA into weights with base+adapter logits; bad requests are refused", async () => {
  const h = await harness();
  try {
    const base = await h.ok("POST", "/20231130/models", {
      compartmentId: "compA",
      modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: TINY },
    });
    const tiny = await loadModel(TINY);
    const ids = [1, 17, 42, 99, 3, 250, 7, 64];
    for (const kind of ["lora", "ia3"]) {
      const src = `${G}/tiny-llama-${kind}/adapter`;
      const m = await h.importAdapter(base.id, src, `${kind}/`);
      const peft = await h.exportTo(m.id, { format: "PEFT" });
      assert.deepEqual(
        peft.res.objects.map((o: Json) => o.name),
        [`exports/${m.id}/peft/adapter_config.json`, `exports/${m.id}/peft/adapter_model.safetensors`],
      );
      for (const f of ["adapter_config.json", "adapter_model.safetensors"])
        assert.ok(readFileSync(join(peft.dir, f)).equals(readFileSync(join(src, f))), `${kind} ${f} round-trips`);

      const hf = await h.exportTo(m.id, { format: "HF" });
      const merged = await loadModel(hf.dir);
      assert.ok(merged.tokenizer, "the tokenizer files come along");
      const want = await forwardAll(tiny, ids, { threads: 1, hooks: hooksFor(tiny, await loadAdapter(src, tiny.config)) });
      const plain = await forwardAll(tiny, ids, { threads: 1 });
      const got = await forwardAll(merged, ids, { threads: 1 });
      let maxDiff = 0;
      let changed = 0;
      got.forEach((row, t) =>
        row.forEach((v, i) => {
          maxDiff = Math.max(maxDiff, Math.abs(v - want[t]![i]!));
          changed = Math.max(changed, Math.abs(v - plain[t]![i]!));
        }),
      );
      assert.ok(maxDiff <= 1e-4, `${kind}: merged logits differ from base+adapter by ${maxDiff}`);
      assert.ok(changed > 1e-2, `${kind}: the merge changes the model (${changed})`);
    }
    const peftOfBase = await h.call("POST", `/20231130/models/${base.id}/actions/export`, {
      format: "PEFT",
      namespaceName: "ns",
      bucketName: "out",
    });
    assert.equal(peftOfBase.status, 400);
    assert.match(peftOfBase.json.message, /not an adapter/);
    const gguf = await h.call("POST", `/20231130/models/${base.id}/actions/export`, {
      format: "HF",
      ggufType: "Q8_0",
      namespaceName: "ns",
      bucketName: "out",
    });
    assert.equal(gguf.status, 400);
    const hidden = await h.call("POST", `/20231130/models/ocid1.generativeaimodel.sprig..nope/actions/export`, {
      format: "HF",
      namespaceName: "ns",
      bucketName: "out",
    });
    assert.equal(hidden.status, 404);
  } finally {
    await h.svc.close();
  }
});

test("export GGUF (CLI): F32, F16 and Q8_0 of a T-Few custom model run in llama.cpp with sprig generate's greedy ids", async () => {
  const h = await harness();
  const work = mkdtempSync(join(tmpdir(), "sprig-gguf-"));
  const env = { ...process.env, SPRIG_URL: h.url, SPRIG_API_KEY: h.keyA };
  const cli = async (...args: string[]) =>
    JSON.parse((await run(process.execPath, [BIN, ...args], { env, maxBuffer: 1 << 24 })).stdout) as Json;
  try {
    const base = await h.ok("POST", "/20231130/models", {
      compartmentId: "compA",
      modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: SPRIG_BASE },
    });
    // a T-Few adapter with vectors around 1, made and fingerprinted by Sprig
    const m = await loadModel(SPRIG_BASE);
    const adapter = createIa3(m.config);
    const rng = new Rng(7);
    for (const t of adapter.tensors.values()) t.data.set(rng.uniformArray(t.data.length, 0.7, 1.3));
    const adapterDir = join(work, "tfew");
    mkdirSync(adapterDir);
    await saveAdapter(adapterDir, adapter, { baseFingerprint: baseFingerprint(m.config, m.weights) });
    const custom = await cli(
      "model",
      "import-adapter",
      adapterDir,
      "--base-model-id",
      base.id,
      "--compartment-id",
      "compA",
      "--name",
      "tfew",
    );
    assert.equal(custom.lifecycleState, "ACTIVE");

    const prompt = await m.tokenizer!.encode("Once upon a time", { addSpecialTokens: true });
    const runner = await ModelRunner.create(m, { threads: 1, hooks: hooksFor(m, adapter) });
    const [ours] = await generate(runner, [prompt], [samplingOptions({ maxTokens: 16, temperature: 0 })]).finally(() => runner.dispose());
    const [plain] = await ModelRunner.create(m, { threads: 1 }).then((r) =>
      generate(r, [prompt], [samplingOptions({ maxTokens: 16, temperature: 0 })]).finally(() => r.dispose()),
    );
    assert.notDeepEqual(ours!.ids, plain!.ids, "the adapter changes the greedy continuation");

    const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" as never });
    for (const type of ["f32", "f16", "q8_0"]) {
      // one export through the CLI, the others straight over the API (each CLI start costs seconds)
      let file = join(work, `tfew-${type}.gguf`);
      if (type === "f16") {
        const out = await cli("model", "export", custom.id, "--format", "gguf", "--type", type, "--out", file);
        assert.deepEqual(out.files, [file]);
      } else {
        const { dir, res } = await h.exportTo(custom.id, { format: "GGUF", ggufType: type.toUpperCase() });
        assert.equal(res.objects.length, 1);
        file = join(dir, res.objects[0].name.slice(res.prefix.length));
      }
      const model = await llama.loadModel({ modelPath: file });
      try {
        assert.deepEqual(model.tokenize("Once upon a time"), prompt.slice(1), `${type}: llama.cpp tokenizes as tokenizer.json does`);
        const ctx = await model.createContext({ contextSize: 64, threads: 1 });
        const got: number[] = [];
        for await (const t of ctx.getSequence().evaluate([...prompt] as never, { temperature: 0 })) {
          got.push(t as number);
          if (got.length === ours!.ids.length) break;
        }
        await ctx.dispose();
        assert.deepEqual(got, ours!.ids, `${type}: llama.cpp's greedy ids`);
      } finally {
        await model.dispose();
      }
    }
  } finally {
    await h.svc.close();
  }
});
