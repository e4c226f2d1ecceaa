// T-Few's choice losses: values against a direct float64 computation, autodiff gradients against central
// finite differences through the float64 reference interpreter, onnxruntime against the reference.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Graph, type HostTensor, Rng, grad } from "../../src/engine/index.ts";
import { type NDArray, evaluate, hostToFloat64 } from "../../src/engine/reference/index.ts";
import { compile } from "../../src/engine/runtime/compile.ts";
import { UNLIKELIHOOD_EPS, choiceLosses } from "../../src/training/tfew-losses.ts";

const B = 6;
const S = 4;
const V = 5;
// example 0: rows 0-2 (label 1); example 1: rows 3-4 (label 0); example 2: row 5 alone (plain LM)
const GROUPS = [[0, 1, 2], [3, 4], [5]];
const LABELS = [1, 0, 0];
// labels per row: -100 where not scored (prompt / padding)
const TOKENS = [
  [-100, 2, 3, -100],
  [-100, 4, -100, -100],
  [-100, 1, 1, 0],
  [-100, -100, 2, -100],
  [-100, -100, 3, 4],
  [-100, 0, 2, 2],
];

function feeds(rng: Rng): Record<string, HostTensor> {
  const K = 3;
  const index = new BigInt64Array(GROUPS.length * K);
  const valid = new Float32Array(GROUPS.length * K);
  GROUPS.forEach((g, e) => g.forEach((r, k) => ((index[e * K + k] = BigInt(r)), (valid[e * K + k] = 1))));
  const correct = new Float32Array(B);
  GROUPS.forEach((g, e) => (correct[g[LABELS[e]!]!] = 1));
  return {
    logits: { dtype: "float32", shape: [B, S, V], data: rng.normalArray(B * S * V, 1.5) },
    labels: { dtype: "int64", shape: [B, S], data: BigInt64Array.from(TOKENS.flat(), BigInt) },
    choice_index: { dtype: "int64", shape: [GROUPS.length, K], data: index },
    choice_valid: { dtype: "float32", shape: [GROUPS.length, K], data: valid },
    choice_label: { dtype: "int64", shape: [GROUPS.length], data: BigInt64Array.from(LABELS, BigInt) },
    row_correct: { dtype: "float32", shape: [B], data: correct },
  };
}

/** The three losses computed directly from the definitions, in float64. */
function direct(logits: Float64Array): { lm: number; ul: number; ln: number } {
  const logp = (b: number, s: number, v: number) => {
    const row = logits.subarray((b * S + s) * V, (b * S + s + 1) * V);
    const m = Math.max(...row);
    return row[v]! - m - Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0));
  };
  const correct = new Set(GROUPS.map((g, e) => g[LABELS[e]!]!));
  let lmSum = 0,
    lmN = 0,
    ulSum = 0,
    ulN = 0;
  const mean: number[] = [];
  TOKENS.forEach((row, b) => {
    let sum = 0,
      n = 0;
    row.forEach((t, s) => {
      if (t < 0) return;
      const lp = logp(b, s, t);
      sum += lp;
      n++;
      if (correct.has(b)) {
        lmSum -= lp;
        lmN++;
      } else {
        ulSum -= Math.log(1 - Math.exp(lp) + UNLIKELIHOOD_EPS);
        ulN++;
      }
    });
    mean.push(sum / n);
  });
  let ln = 0,
    multi = 0;
  GROUPS.forEach((g, e) => {
    if (g.length < 2) return;
    const sc = g.map((r) => mean[r]!);
    const m = Math.max(...sc);
    ln -= sc[LABELS[e]!]! - m - Math.log(sc.reduce((a, x) => a + Math.exp(x - m), 0));
    multi++;
  });
  return { lm: lmSum / lmN, ul: ulSum / ulN, ln: ln / multi };
}

function build() {
  const g = new Graph();
  const logits = g.input("logits", "float32", ["B", "S", V]);
  const c = choiceLosses(logits, g.input("labels", "int64", ["B", "S"]));
  const [dl] = grad(c.loss, [logits]);
  for (const [k, t] of Object.entries({
    loss: c.loss,
    lm: c.lm,
    ul: c.ul,
    ln: c.ln,
    hits: c.choiceCorrect,
    multi: c.choiceExamples,
    dlogits: dl!,
  }))
    g.output(k, t);
  return { g, loss: c.loss };
}

test("T-Few losses: L_LM, L_UL and L_LN equal their definitions (float64 reference)", () => {
  const { g } = build();
  const f = feeds(new Rng(3));
  const ref = evaluate(g, f) as Record<string, NDArray>;
  const want = direct(hostToFloat64(f.logits!));
  for (const k of ["lm", "ul", "ln"] as const)
    assert.ok(Math.abs(ref[k]!.data[0]! - want[k]) < 1e-9, `${k}: ${ref[k]!.data[0]} vs ${want[k]}`);
  assert.ok(Math.abs(ref.loss!.data[0]! - (want.lm + want.ul + want.ln)) < 1e-9);
  assert.equal(ref.multi!.data[0], 2, "two examples have real choices");
  assert.ok(want.ul > 0 && want.ln > 0 && want.lm > 0);
});

test("T-Few losses: autodiff gradient matches central finite differences (float64)", () => {
  const { g, loss } = build();
  const f = feeds(new Rng(5));
  const ref = evaluate(g, f) as Record<string, NDArray>;
  const x = hostToFloat64(f.logits!);
  const base = { ...f, logits: { dtype: "float32", shape: f.logits!.shape, data: x } as NDArray };
  const h = 1e-6;
  let nonzero = 0;
  // every element: rows of incorrect choices, correct ones, the plain-LM row and unscored positions
  for (let i = 0; i < x.length; i++) {
    const at = (d: number) => {
      const data = Float64Array.from(x);
      data[i] = data[i]! + d;
      return evaluate(g, { ...base, logits: { ...base.logits, data } }, [loss])[0]!.data[0]!;
    };
    const fd = (at(h) - at(-h)) / (2 * h);
    const an = ref.dlogits!.data[i]!;
    assert.ok(Math.abs(fd - an) <= 1e-7 + 1e-5 * Math.abs(fd), `d loss / d logits[${i}]: autodiff ${an}, finite difference ${fd}`);
    const scored = TOKENS.flat()[Math.floor(i / V)]! >= 0;
    if (!scored) assert.equal(an, 0, `logits[${i}] is at an unscored position`);
    else if (Math.abs(an) > 1e-6) nonzero++;
  }
  const scoredPositions = TOKENS.flat().filter((t) => t >= 0).length;
  assert.equal(nonzero, scoredPositions * V, "every logit at a scored position influences the loss");
});

test("T-Few losses: onnxruntime agrees with the reference", async () => {
  const { g } = build();
  const f = feeds(new Rng(9));
  const ref = evaluate(g, f) as Record<string, NDArray>;
  const c = await compile(g, { intraOpThreads: 1 });
  try {
    const out = await c.run(f);
    for (const [k, want] of Object.entries(ref)) {
      const got = hostToFloat64(out[k]!);
      want.data.forEach((v, i) => assert.ok(Math.abs(got[i]! - v) <= 1e-5 * (1 + Math.abs(v)), `${k}[${i}]: ${got[i]} vs ${v}`));
    }
  } finally {
    await c.dispose();
  }
});
