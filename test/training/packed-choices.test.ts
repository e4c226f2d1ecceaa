// T-Few on answer choices at one row per example (packed-choices.ts): the packed graph gives the per-row
// graph's losses, counts and every (IA)³ gradient on llama and GPT-2 models (block attention mask,
// restarted positions); the packed losses equal the per-row ones in float64 and their autodiff gradient
// matches central finite differences; batches have one row per example.

import assert from "node:assert/strict";
import { test } from "node:test";
import { loadAdapter } from "../../src/adapters/peft-io.ts";
import { Graph, type HostTensor, Rng, grad } from "../../src/engine/index.ts";
import { type NDArray, evaluate, hostToFloat64 } from "../../src/engine/reference/index.ts";
import { compile } from "../../src/engine/runtime/compile.ts";
import { loadModel } from "../../src/models/index.ts";
import { makeBatch } from "../../src/training/batches.ts";
import type { Example } from "../../src/training/data.ts";
import { packedChoiceLosses } from "../../src/training/packed-choices.ts";
import { choiceLosses } from "../../src/training/tfew-losses.ts";
import { buildTrainGraph } from "../../src/training/train-graph.ts";

const G = "test/fixtures/golden/grad";

/** Choice examples of different prompt and choice lengths and choice counts, and one without choices. */
function examples(vocab: number): Example[] {
  const rng = new Rng(7);
  const ids = (n: number) => Array.from({ length: n }, () => 3 + rng.int(vocab - 3));
  return [
    { line: 1, prompt: ids(5), completion: [], choices: [ids(2), ids(1), ids(3)], label: 1 },
    { line: 2, prompt: ids(3), completion: [], choices: [ids(4), ids(2)], label: 0 },
    { line: 3, prompt: ids(6), completion: ids(3) },
    { line: 4, prompt: ids(2), completion: [], choices: [ids(1), ids(1), ids(2), ids(2)], label: 3 },
  ].map((e) => (e.choices ? { ...e, completion: e.choices[e.label!]! } : e));
}

for (const [model, dir] of [
  ["tiny-llama", "tiny-llama-ia3"],
  ["tiny-gpt2", "tiny-gpt2-ia3"],
] as const) {
  test(`${model}: packed rows give the per-row losses, counts and every (IA)³ gradient`, async () => {
    const m = await loadModel(`test/fixtures/models/${model}`);
    const adapter = await loadAdapter(`${G}/${dir}/adapter`, m.config);
    const ex = examples(m.config.vocabSize);
    const perRow = buildTrainGraph(m, { method: "tfew", adapter, withGrads: true, choices: true });
    const packed = buildTrainGraph(m, { method: "tfew", adapter, withGrads: true, choices: true, packedChoices: true });
    const params: Record<string, HostTensor> = {};
    for (const k of perRow.trainable) params[k] = { dtype: "float32", shape: perRow.shapes.get(k)!, data: adapter.tensors.get(k)!.data };
    const rows = makeBatch(ex, "choices");
    const one = makeBatch(ex, "packed");
    assert.equal(rows.rows, 10, "per-row: every choice is a row");
    assert.equal(one.rows, 4, "packed: one row per example");
    assert.equal(one.tokens, rows.tokens);
    const [a, b] = await Promise.all([compile(perRow.graph, { intraOpThreads: 1 }), compile(packed.graph, { intraOpThreads: 1 })]);
    try {
      const want = await a.run({ ...rows.feeds, ...params });
      const got = await b.run({ ...one.feeds, ...params });
      const v = (o: Record<string, HostTensor>, k: string) => (o[k]!.data as Float32Array)[0]!;
      for (const k of ["loss", "loss_lm", "loss_ul", "loss_ln", "loss_sum"])
        assert.ok(Math.abs(v(got, k) - v(want, k)) <= 1e-5 * (1 + Math.abs(v(want, k))), `${k}: ${v(got, k)} vs ${v(want, k)}`);
      for (const k of ["tokens", "correct", "choice_correct", "choice_examples"]) assert.equal(v(got, k), v(want, k), k);
      assert.equal(v(want, "choice_examples"), 3);
      assert.ok(
        v(want, "loss_ul") !== 0 && v(want, "loss_ln") > 0,
        `ul ${v(want, "loss_ul")} ln ${v(want, "loss_ln")} lm ${v(want, "loss_lm")}`,
      );
      let nonzero = 0;
      for (const k of perRow.trainable) {
        const gw = want[`grad.${k}`]!.data as Float32Array;
        const gg = got[`grad.${k}`]!.data as Float32Array;
        const scale = Math.max(...gw.map(Math.abs));
        gw.forEach((x, i) => assert.ok(Math.abs(gg[i]! - x) <= 1e-4 * scale + 1e-7, `grad ${k}[${i}]: ${gg[i]} vs ${x}`));
        if (scale > 0) nonzero++;
      }
      assert.equal(nonzero, perRow.trainable.length, "every vector has a gradient");
    } finally {
      await Promise.all([a.dispose(), b.dispose()]);
    }
  });
}

// the scored tokens of tfew-losses.test.ts's rows, as packed tokens: (row, position, label)
const B = 5;
const S = 3;
const V = 5;
const GROUPS = [
  [0, 1, 2],
  [3, 4],
];
const LABELS = [2, 0];
const TOKENS = [
  [2, 3, -100],
  [4, -100, -100],
  [1, 1, 0],
  [2, -100, -100],
  [3, 4, 1],
];

function feeds(rng: Rng) {
  const K = 3;
  const E = GROUPS.length;
  const logits = rng.normalArray(B * S * V, 1.5);
  const index = new BigInt64Array(E * K);
  const valid = new Float32Array(E * K);
  GROUPS.forEach((g, e) => g.forEach((r, k) => ((index[e * K + k] = BigInt(r)), (valid[e * K + k] = 1))));
  const rowCorrect = new Float32Array(B);
  GROUPS.forEach((g, e) => (rowCorrect[g[LABELS[e]!]!] = 1));
  const rowsFeeds: Record<string, HostTensor> = {
    logits: { dtype: "float32", shape: [B, S, V], data: logits },
    labels: { dtype: "int64", shape: [B, S], data: BigInt64Array.from(TOKENS.flat(), BigInt) },
    choice_index: { dtype: "int64", shape: [E, K], data: index },
    choice_valid: { dtype: "float32", shape: [E, K], data: valid },
    choice_label: { dtype: "int64", shape: [E], data: BigInt64Array.from(LABELS, BigInt) },
    row_correct: { dtype: "float32", shape: [B], data: rowCorrect },
  };
  // packed: the scored positions in row order, each in its group's choice slot
  const picked: number[] = [];
  const labels: number[] = [];
  const slots: number[] = [];
  const correct: number[] = [];
  TOKENS.forEach((row, b) =>
    row.forEach((t, s) => {
      if (t < 0) return;
      const e = GROUPS.findIndex((g) => g.includes(b));
      picked.push(b * S + s);
      labels.push(t);
      slots.push(e * K + GROUPS[e]!.indexOf(b));
      correct.push(rowCorrect[b]!);
    }),
  );
  const N = picked.length;
  const member = new Float32Array(E * K * N);
  slots.forEach((c, n) => (member[c * N + n] = 1));
  const packed: Record<string, HostTensor> = {
    logits: { dtype: "float32", shape: [N, V], data: Float32Array.from(picked.flatMap((p) => [...logits.subarray(p * V, (p + 1) * V)])) },
    score_labels: { dtype: "int64", shape: [N], data: BigInt64Array.from(labels, BigInt) },
    token_choice: { dtype: "float32", shape: [E, K, N], data: member },
    token_correct: { dtype: "float32", shape: [N], data: Float32Array.from(correct) },
    choice_valid: rowsFeeds.choice_valid!,
    choice_label: rowsFeeds.choice_label!,
  };
  return { rowsFeeds, packed };
}

function graphs() {
  const gr = new Graph();
  const r = choiceLosses(gr.input("logits", "float32", ["B", "S", V]), gr.input("labels", "int64", ["B", "S"]));
  for (const [k, t] of Object.entries({ loss: r.loss, lm: r.lm, ul: r.ul, ln: r.ln })) gr.output(k, t);
  const gp = new Graph();
  const logits = gp.input("logits", "float32", ["N", V]);
  const p = packedChoiceLosses(logits);
  for (const [k, t] of Object.entries({ loss: p.loss, lm: p.lm, ul: p.ul, ln: p.ln, dlogits: grad(p.loss, [logits])[0]! })) gp.output(k, t);
  return { gr, gp, loss: p.loss };
}

test("packed T-Few losses equal the per-row ones (float64) and their gradient matches finite differences", () => {
  const { gr, gp, loss } = graphs();
  const { rowsFeeds, packed } = feeds(new Rng(3));
  const want = evaluate(gr, rowsFeeds) as Record<string, NDArray>;
  const got = evaluate(gp, packed) as Record<string, NDArray>;
  for (const k of ["loss", "lm", "ul", "ln"])
    assert.ok(Math.abs(got[k]!.data[0]! - want[k]!.data[0]!) < 1e-12, `${k}: ${got[k]!.data[0]} vs ${want[k]!.data[0]}`);
  assert.ok(want.ul!.data[0]! > 0 && want.ln!.data[0]! > 0);
  const x = hostToFloat64(packed.logits!);
  const base = { ...packed, logits: { dtype: "float32", shape: packed.logits!.shape, data: x } as NDArray };
  const h = 1e-6;
  let nonzero = 0;
  for (let i = 0; i < x.length; i++) {
    const at = (d: number) => {
      const data = Float64Array.from(x);
      data[i] = data[i]! + d;
      return evaluate(gp, { ...base, logits: { ...base.logits, data } }, [loss])[0]!.data[0]!;
    };
    const fd = (at(h) - at(-h)) / (2 * h);
    const an = got.dlogits!.data[i]!;
    assert.ok(Math.abs(fd - an) <= 1e-7 + 1e-5 * Math.abs(fd), `d loss / d logits[${i}]: autodiff ${an}, finite difference ${fd}`);
    if (Math.abs(an) > 1e-6) nonzero++;
  }
  assert.equal(nonzero, x.length, "every scored token's logits influence the loss");
});
