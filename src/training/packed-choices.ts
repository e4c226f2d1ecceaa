// T-Few on answer-choice data at one row per example: the prompt once, then every choice behind it, each
// choice's tokens restarting their positions after the prompt and attending only to the prompt and to
// themselves (segment_ids → a block attention mask in the model). Each choice token is then computed
// exactly as in a row of its own, so the losses are those of tfew-losses.ts, taken over the scored
// tokens instead of over rows — while the shared prompt runs once instead of once per choice.

import { type HostTensor, type Tensor, nn, op } from "../engine/index.ts";
import type { Batch } from "./batches.ts";
import type { ChoiceLosses } from "./tfew-losses.ts";
import { UNLIKELIHOOD_EPS } from "./tfew-losses.ts";
import type { Example } from "./data.ts";

/** padding token id (right padding; a padding token's segment is -1, so nothing real attends to it) */
const PAD = 0;
/** score of a padding choice slot: its softmax weight is exactly 0 in float32 */
const MASKED_SCORE = -1e9;

/**
 * One row per example: prompt ‖ choice 0 ‖ choice 1 ‖ … (an example without choices: prompt ‖ completion, a
 * group of one). Feeds: input_ids, position_ids, segment_ids (B, T) int64 (0 prompt, k+1 choice k, -1 padding);
 * score_index (N) int64 — flat b·T+t of the position whose hidden state predicts each scored token (the last
 * prompt token for a choice's first token); score_labels (N) int64; token_choice (E, K, N) float32 — 1 where
 * token n belongs to choice k of example e; token_correct (N) float32; choice_valid (E, K) float32; choice_label (E) int64.
 */
export function makePackedBatch(examples: readonly Example[]): Batch {
  const E = examples.length;
  const choicesOf = (e: Example) => e.choices ?? [e.completion];
  const K = Math.max(...examples.map((e) => choicesOf(e).length));
  const T = Math.max(...examples.map((e) => e.prompt.length + choicesOf(e).reduce((a, c) => a + c.length, 0)));
  const ids = new BigInt64Array(E * T).fill(BigInt(PAD));
  const pos = new BigInt64Array(E * T);
  const seg = new BigInt64Array(E * T).fill(-1n);
  const index: number[] = [];
  const labels: number[] = [];
  const slot: number[] = [];
  const correct: number[] = [];
  const valid = new Float32Array(E * K);
  let tokens = 0;
  let realTokens = 0;
  examples.forEach((e, b) => {
    const row = b * T;
    const P = e.prompt.length;
    e.prompt.forEach((t, i) => ((ids[row + i] = BigInt(t)), (pos[row + i] = BigInt(i)), (seg[row + i] = 0n)));
    let at = P;
    choicesOf(e).forEach((c, k) => {
      valid[b * K + k] = 1;
      const right = !e.choices || k === e.label;
      c.forEach((t, i) => {
        ids[row + at + i] = BigInt(t);
        pos[row + at + i] = BigInt(P + i);
        seg[row + at + i] = BigInt(k + 1);
        if (!e.choices && e.scored && !e.scored[i]) return; // chat: only the assistant turns are scored
        index.push(row + (i === 0 ? P - 1 : at + i - 1));
        labels.push(t);
        slot.push(b * K + k);
        correct.push(right ? 1 : 0);
        if (right) tokens++;
      });
      at += c.length;
    });
    realTokens += at;
  });
  const N = index.length;
  const membership = new Float32Array(E * K * N);
  slot.forEach((s, n) => (membership[s * N + n] = 1));
  const feeds: Record<string, HostTensor> = {
    input_ids: { dtype: "int64", shape: [E, T], data: ids },
    position_ids: { dtype: "int64", shape: [E, T], data: pos },
    segment_ids: { dtype: "int64", shape: [E, T], data: seg },
    score_index: { dtype: "int64", shape: [N], data: BigInt64Array.from(index, BigInt) },
    score_labels: { dtype: "int64", shape: [N], data: BigInt64Array.from(labels, BigInt) },
    token_choice: { dtype: "float32", shape: [E, K, N], data: membership },
    token_correct: { dtype: "float32", shape: [N], data: Float32Array.from(correct) },
    choice_valid: { dtype: "float32", shape: [E, K], data: valid },
    choice_label: { dtype: "int64", shape: [E], data: BigInt64Array.from(examples, (e) => BigInt(e.choices ? e.label! : 0)) },
  };
  return { feeds, rows: E, length: T, examples: E, tokens, realTokens };
}

/**
 * T-Few's losses over the scored tokens of packed rows. logits: (N, V) at the score_index positions.
 * Declares score_labels, token_choice, token_correct, choice_valid, choice_label (see makePackedBatch).
 * L_LM, L_UL and L_LN are exactly tfew-losses.ts's: the same token sets, means and softmax over choices.
 */
export function packedChoiceLosses(logits: Tensor): ChoiceLosses & { hits: Tensor } {
  const g = logits.graph;
  const target = g.input("score_labels", "int64", ["N"]);
  const member = g.input("token_choice", "float32", ["E", "K", "N"]);
  const correct = g.input("token_correct", "float32", ["N"]);
  const valid = g.input("choice_valid", "float32", ["E", "K"]);
  const label = g.input("choice_label", "int64", ["E"]);

  // log p of each scored token; the fused cross-entropy keeps no (N, V) log-probabilities for the backward
  const lp = op.neg(op.softmaxCrossEntropy(logits, target)); // (N)
  const nCorrect = op.sum(correct);
  const lm = op.div(op.neg(op.sum(op.mul(lp, correct))), op.maximum(nCorrect, 1));

  const wrong = op.sub(1, correct); // (N)
  const notP = op.add(op.sub(1, op.exp(lp)), UNLIKELIHOOD_EPS);
  const ul = op.div(op.neg(op.sum(op.mul(op.log(notP), wrong))), op.maximum(op.sum(wrong), 1));

  // mean token log-probability per choice slot: (E, K, N) · (N, 1) → (E, K)
  const sums = op.squeeze(op.matmul(member, op.unsqueeze(lp, [1])), [2]);
  const mean = op.div(sums, op.maximum(op.sum(member, 2), 1));
  const scores = op.where(op.greater(valid, 0), mean, MASKED_SCORE); // (E, K)
  const picked = op.squeeze(op.gatherElements(nn.logSoftmax(scores, -1), op.unsqueeze(label, [1]), 1), [1]); // (E)
  const multi = op.cast(op.greater(op.sum(valid, 1), 1), "float32"); // (E): groups with real choices
  const nMulti = op.sum(multi);
  const ln = op.div(op.neg(op.sum(op.mul(picked, multi))), op.maximum(nMulti, 1));

  const best = op.squeeze(op.gatherElements(scores, op.unsqueeze(label, [1]), 1), [1]); // (E)
  const hit = op.cast(op.not(op.less(best, op.max(scores, -1))), "float32");
  // scored tokens of the correct choices whose label is the argmax
  const top = op.cast(
    op.not(op.less(op.squeeze(op.gatherElements(logits, op.unsqueeze(target, [1]), 1), [1]), op.max(logits, -1))),
    "float32",
  );
  return {
    loss: op.add(op.add(lm, ul), ln),
    lm,
    ul,
    ln,
    choiceCorrect: op.sum(op.mul(hit, multi)),
    choiceExamples: nMulti,
    correctTokens: correct,
    hits: op.sum(op.mul(top, correct)),
  };
}

/** The graph outputs of a packed choice batch (the same names and meanings as train-graph.ts's per-row ones). → loss */
export function packedChoiceOutputs(logits: Tensor): Tensor {
  const g = logits.graph;
  const c = packedChoiceLosses(logits);
  const tokens = op.sum(c.correctTokens);
  g.output("loss", c.loss);
  g.output("loss_sum", op.mul(c.lm, tokens));
  g.output("tokens", tokens);
  g.output("correct", c.hits);
  g.output("loss_lm", c.lm);
  g.output("loss_ul", c.ul);
  g.output("loss_ln", c.ln);
  g.output("choice_correct", c.choiceCorrect);
  g.output("choice_examples", c.choiceExamples);
  return c.loss;
}
