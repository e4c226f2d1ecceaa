// Weight formats (f32 | int8 | int4): quantized graphs compute with exactly the dequantized weights (fused
// q|k|v and gate|up, GPT-2's Conv1D, biases, the LM head), adapters still apply per row, options are checked,
// and on the bundled base: held-out perplexity within 1% of f32, greedy outputs of T-Few demo models unchanged.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { dequantizeBlockwise, quantizeBlockwise } from "../../src/engine/index.ts";
import {
  type LinearQuantization,
  type LoadedModel,
  type WeightFormat,
  linearModules,
  loadModel,
  quantizationOf,
} from "../../src/models/index.ts";
import { HostingEngine } from "../../src/serving/hosting/hosting-engine.ts";
import { ModelRunner, forwardAll } from "../../src/serving/model-runner.ts";
import { generate } from "../../src/serving/generate.ts";
import { samplingOptions } from "../../src/serving/sampling.ts";
import { fineTune } from "../../src/training/index.ts";
import { DEFAULT_SEED, corpusDocuments } from "../../tools/corpus/corpus.ts";
import { packDocuments } from "../../tools/pretrain/packing.ts";
import { FIXTURES, constantHooks, prompts, randomIa3, randomLora } from "./hosting-helpers.ts";

/** The model with each projection (and the LM head when `lmHead`) replaced by its dequantized weight. */
function dequantized(m: LoadedModel, q: LinearQuantization): LoadedModel {
  const weights = new Map(m.weights);
  const names = linearModules(m.config).map((l) => ({ name: `${l.path}.weight`, conv1d: l.conv1d }));
  if (q.lmHead) names.push({ name: "lm_head.weight", conv1d: false });
  for (const { name, conv1d } of names) {
    const w = m.weights.get(name)!;
    const [r, c] = w.shape as [number, number];
    const [N, K] = conv1d ? [c, r] : [r, c];
    const nk = conv1d ? Float32Array.from({ length: r * c }, (_, i) => w.data[(i % K) * c + Math.floor(i / K)]!) : w.data;
    const d = dequantizeBlockwise(quantizeBlockwise(nk, N, K, q)); // (N, K)
    const back = conv1d ? Float32Array.from({ length: r * c }, (_, i) => d[(i % c) * K + Math.floor(i / c)]!) : Float32Array.from(d);
    weights.set(name, { shape: w.shape, data: back });
  }
  return { ...m, weights };
}

const maxDiff = (a: Float32Array[], b: Float32Array[]) =>
  Math.max(...a.map((x, t) => Math.max(...x.map((v, i) => Math.abs(v - b[t]![i]!)))));

for (const [fixture, over] of [
  ["tiny-llama", { accuracyLevel: 0, lmHead: true }],
  ["tiny-gpt2", { accuracyLevel: 0, bits: 4 }],
] as const) {
  test(`${fixture}: a quantized graph computes with the dequantized weights (${JSON.stringify(over)})`, async () => {
    const m = await loadModel(`${FIXTURES}/${fixture}`);
    const format: WeightFormat = "bits" in over ? "int4" : "int8";
    const q = quantizationOf(format, over)!;
    const ids = prompts(m.config, 1, 5, 12)[0]!;
    const got = await forwardAll(m, ids, { threads: 1, weights: format, quantization: over });
    const want = await forwardAll(dequantized(m, q), ids, { threads: 1 });
    const f32 = await forwardAll(m, ids, { threads: 1 });
    assert.ok(maxDiff(got, want) < 1e-4, `quantized vs dequantized: ${maxDiff(got, want)}`);
    assert.ok(maxDiff(got, f32) > 1e-4, "quantization changed nothing: the graph did not use it");
  });
}

test("int8 hosting engine: T-Few and LoRA rows in one batch give what each adapter gives alone on int8 weights", async () => {
  const m = await loadModel(`${FIXTURES}/tiny-llama`);
  const adapters = [null, randomIa3(m.config, 3), randomLora(m.config, 4, 4)];
  const engine = await HostingEngine.create({ model: m, weights: "int8", threads: 1, maxBatchSize: 8, lora: { rank: 8 } });
  try {
    await engine.activate("ia3", adapters[1]!);
    await engine.activate("lora", adapters[2]!);
    const ps = prompts(m.config, 6, 11);
    const greedy = { temperature: 0, maxTokens: 6 };
    const names = [null, "ia3", "lora"];
    const got = await Promise.all(ps.map((p, i) => engine.submit({ adapter: names[i % 3]!, promptIds: p, sampling: greedy })));
    for (let i = 0; i < ps.length; i++) {
      const r = await ModelRunner.create(m, { threads: 1, weights: "int8", hooks: constantHooks(m.config, adapters[i % 3]!) });
      const [alone] = await generate(r, [ps[i]!], [samplingOptions(greedy)], {});
      await r.dispose();
      assert.deepEqual(got[i]!.ids, alone!.ids, `request ${i} (${names[i % 3] ?? "base"})`);
    }
  } finally {
    await engine.close();
  }
});

test("weight formats are checked: unknown formats and settings are refused", async () => {
  const m = await loadModel(`${FIXTURES}/tiny-llama`);
  await assert.rejects(
    HostingEngine.create({ model: m, weights: "int3" as WeightFormat }),
    (e: Error) => e.name === "InvalidRequestError" && /weights/.test(e.message),
  );
  assert.throws(() => quantizationOf("f32", { blockSize: 16 }), /f32/);
  assert.throws(() => quantizationOf("int8", { blockSize: 24 }), /power of two/);
  assert.equal(quantizationOf("f32"), null);
  assert.deepEqual(quantizationOf("int8"), { bits: 8, blockSize: 16, symmetric: false, accuracyLevel: 4, lmHead: false });
});

const BASE = "models/sprig-base";
const skip = !existsSync(`${BASE}/config.json`) && "models/sprig-base is not built";

test("sprig-base: held-out perplexity with int8 and int4 weights within 1% of f32", { skip }, async () => {
  const m = await loadModel(BASE);
  const docs = [...corpusDocuments(DEFAULT_SEED, "valid", Infinity, 40)].map((d) => d.text);
  const chunks = await packDocuments(docs, m.tokenizer!, 256);
  const loss = async (weights: WeightFormat) => {
    let sum = 0;
    let n = 0;
    for (let c = 0; c < 8; c++) {
      const ids = Array.from(chunks.tokens.subarray(c * 256, (c + 1) * 256));
      const logits = await forwardAll(m, ids, { threads: 2, weights });
      for (let t = 0; t + 1 < ids.length; t++) {
        const l = logits[t]!;
        let max = -Infinity;
        for (const v of l) max = Math.max(max, v);
        let s = 0;
        for (const v of l) s += Math.exp(v - max);
        sum += Math.log(s) + max - l[ids[t + 1]!]!;
        n++;
      }
    }
    return sum / n;
  };
  const f32 = await loss("f32");
  for (const w of ["int8", "int4"] as const) {
    const l = await loss(w);
    const ratio = Math.exp(l) / Math.exp(f32);
    assert.notEqual(l, f32, `${w} changed nothing`);
    assert.ok(Math.abs(ratio - 1) < 0.01, `${w}: perplexity ${Math.exp(l)} vs f32 ${Math.exp(f32)} (ratio ${ratio})`);
  }
});

test("sprig-base: int8 leaves every greedy output of T-Few models trained on the demo sets unchanged", { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "sprig-weights-"));
  try {
    // the demo's recipe (src/demo/run.ts): T-Few, learning rate 0.3, batch 8, 3 epochs for choices, 8 otherwise
    const sets = [
      { name: "demo-mood", epochs: 3, maxTokens: 4 },
      { name: "demo-record", epochs: 8, maxTokens: 48 },
    ];
    for (const s of sets)
      await fineTune({
        model: BASE,
        data: `data/tasks/${s.name}/train.jsonl`,
        method: "tfew",
        out: join(dir, s.name),
        config: { totalTrainingEpochs: s.epochs, learningRate: 0.3, trainingBatchSize: 8 },
        threads: 2,
      });
    const outputs = async (weights: WeightFormat) => {
      const engine = await HostingEngine.create({ modelDir: BASE, weights, threads: 2, maxBatchSize: 64, lora: { maxAdapters: 0 } });
      try {
        const all: number[][] = [];
        for (const s of sets) {
          await engine.activate(s.name, join(dir, s.name));
          const lines = readFileSync(`data/tasks/${s.name}/test.jsonl`, "utf8").trim().split("\n");
          const prompts = lines.map((l) => (JSON.parse(l) as { prompt: string }).prompt);
          const gens = await Promise.all(
            prompts.map(async (p) =>
              engine.submit({
                adapter: s.name,
                promptIds: await engine.tokenizer!.encode(p, { addSpecialTokens: true }),
                sampling: { temperature: 0, maxTokens: s.maxTokens },
              }),
            ),
          );
          all.push(...gens.map((g) => g.ids));
        }
        return all;
      } finally {
        await engine.close();
      }
    };
    const f32 = await outputs("f32");
    const int8 = await outputs("int8");
    const changed = f32.filter((ids, i) => JSON.stringify(ids) !== JSON.stringify(int8[i])).length;
    assert.equal(f32.length, 128);
    assert.equal(changed, 0, `${changed} of ${f32.length} greedy outputs changed with int8 weights`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
