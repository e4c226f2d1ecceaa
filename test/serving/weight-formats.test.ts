// Weight formats (f32 | int8 | int4): quantized graphs compute with exactly the dequantized weights (fused
// q|k|v and gate|up, GPT-2's Conv1D, biases, the LM head), adapters still apply per row, options are checked,
// and on the bundled base: held-out perplexity within 1% of f32, greedy outputs of T-Few demo models unchanged
// but for near-ties.

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
import { loadAdapterSync } from "../../src/adapters/index.ts";
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

// Greedy decoding is a chain of argmaxes, so where f32 sees a near-tie (two tokens' logits a few hundredths
// apart) any change of summation order — another CPU's kernels, int8 weights — may pick the other token,
// and every later token follows the new prefix. The goal is "unchanged"; what a test can demand on any
// machine is: unchanged except at such near-ties, and few of those. A flip at a real margin fails.
const NEAR_TIE = 0.1; // f32 logit margin below which a flip is a tie broken the other way, not an error
const MAX_FLIPS = 2; // of 128 outputs; measured: 1 (margins 0.011 here and on CI, whose run flipped another)

test(
  "sprig-base: int8 leaves the greedy outputs of T-Few models trained on the demo sets unchanged, but for near-ties",
  { skip },
  async () => {
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
      type Row = { set: string; prompt: number[]; ids: number[] };
      const outputs = async (weights: WeightFormat) => {
        const engine = await HostingEngine.create({ modelDir: BASE, weights, threads: 2, maxBatchSize: 64, lora: { maxAdapters: 0 } });
        try {
          const all: Row[] = [];
          for (const s of sets) {
            await engine.activate(s.name, join(dir, s.name));
            const lines = readFileSync(`data/tasks/${s.name}/test.jsonl`, "utf8").trim().split("\n");
            const texts = lines.map((l) => (JSON.parse(l) as { prompt: string }).prompt);
            const ids = await Promise.all(texts.map((p) => engine.tokenizer!.encode(p, { addSpecialTokens: true })));
            const gens = await Promise.all(
              ids.map((promptIds) => engine.submit({ adapter: s.name, promptIds, sampling: { temperature: 0, maxTokens: s.maxTokens } })),
            );
            all.push(...gens.map((g, i) => ({ set: s.name, prompt: ids[i]!, ids: g.ids })));
          }
          return all;
        } finally {
          await engine.close();
        }
      };
      const f32 = await outputs("f32");
      const int8 = await outputs("int8");
      assert.equal(f32.length, 128);
      const m = await loadModel(BASE);
      const flips: string[] = [];
      for (let i = 0; i < f32.length; i++) {
        const [a, b] = [f32[i]!.ids, int8[i]!.ids];
        const t = Array.from({ length: Math.max(a.length, b.length) }, (_, k) => k).find((k) => a[k] !== b[k]);
        if (t === undefined) continue;
        // the f32 logits where the two first part: the margin f32 had for its token over int8's (a stop token
        // where an output ended, since outputs hold no stop token)
        const hooks = constantHooks(m.config, loadAdapterSync(join(dir, f32[i]!.set), m.config));
        const logits = await forwardAll(m, [...f32[i]!.prompt, ...a.slice(0, t)], { threads: 2, hooks });
        const last = logits[logits.length - 1]!;
        const logit = (id: number | undefined) => (id === undefined ? Math.max(...m.config.eosTokenIds.map((e) => last[e]!)) : last[id]!);
        const margin = logit(a[t]) - logit(b[t]);
        flips.push(`output ${i} (${f32[i]!.set}) at token ${t}: f32 margin ${margin.toFixed(4)}`);
        assert.ok(margin >= 0, `output ${i}: the f32 engine did not pick f32's argmax (margin ${margin})`);
        assert.ok(margin < NEAR_TIE, `int8 changed output ${i} at a real margin: ${flips.at(-1)}`);
      }
      if (flips.length > 0) console.log(`int8 flipped near-ties: ${flips.join("; ")}`);
      assert.ok(
        flips.length <= MAX_FLIPS,
        `${flips.length} of ${f32.length} greedy outputs changed with int8 weights: ${flips.join("; ")}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
