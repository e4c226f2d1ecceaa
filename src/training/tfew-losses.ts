// T-Few's losses for data with answer choices (Liu et al. 2022, §3.2; as in the authors' t-few code):
// every choice is scored as a continuation of the prompt, and
//   L = L_LM (mean NLL of the correct choice's tokens) + L_UL (unlikelihood of the incorrect choices' tokens)
//     + L_LN (softmax cross-entropy over choices of the length-normalized log-probabilities).
// Built from engine ops so the autodiff differentiates it like any other graph.

import { type Tensor, nn, op } from "../engine/index.ts";

/** t-few adds this inside log(1 − p + ε) so a token with p → 1 gives a finite loss and gradient */
export const UNLIKELIHOOD_EPS = 1e-2;
/** score of a padding choice slot: its softmax weight is exactly 0 in float32 */
const MASKED_SCORE = -1e9;

export interface ChoiceLosses {
  /** L_LM + L_UL + L_LN */
  loss: Tensor;
  lm: Tensor;
  ul: Tensor;
  ln: Tensor;
  /** examples with ≥ 2 choices whose highest length-normalized score is the labelled choice, and their count */
  choiceCorrect: Tensor;
  choiceExamples: Tensor;
  /** scored tokens of the correct choices. (B, S) float */
  correctTokens: Tensor;
}

/**
 * logits: (B, S, V) — position s predicts labels[b, s]; labels: (B, S) int64, -100 = not scored.
 * Declares the inputs choice_index (E, K) int64 (rows of each example's choices), choice_valid (E, K)
 * float32 (0 on padding slots), choice_label (E) int64 and row_correct (B) float32 (1 on correct-choice rows).
 * An example without choices is a group of one row: it adds only to L_LM.
 */
export function choiceLosses(logits: Tensor, labels: Tensor): ChoiceLosses {
  const g = logits.graph;
  const index = g.input("choice_index", "int64", ["E", "K"]);
  const valid = g.input("choice_valid", "float32", ["E", "K"]);
  const label = g.input("choice_label", "int64", ["E"]);
  const rowCorrect = op.unsqueeze(g.input("row_correct", "float32", ["B"]), [1]); // (B, 1)

  const keep = op.not(op.equal(labels, -100)); // (B, S)
  const keepF = op.cast(keep, "float32");
  // the fused cross-entropy keeps no (B, S, V) log-probabilities for the backward
  const lp = op.neg(op.softmaxCrossEntropy(logits, labels)); // (B, S), 0 where not scored
  const tokLp = op.mul(lp, keepF); // log p of each scored token, 0 elsewhere

  // L_LM over the correct choices' tokens (a token mean over the batch, like HF's loss)
  const correctTokens = op.mul(keepF, rowCorrect); // (B, S)
  const nCorrect = op.sum(correctTokens);
  const lm = op.div(op.neg(op.sum(op.mul(tokLp, correctTokens))), op.maximum(nCorrect, 1));

  // L_UL over the incorrect choices' tokens: −log(1 − p + ε)
  const wrongTokens = op.mul(keepF, op.sub(1, rowCorrect)); // (B, S)
  const notP = op.add(op.sub(1, op.exp(tokLp)), UNLIKELIHOOD_EPS);
  const ul = op.div(op.neg(op.sum(op.mul(op.log(notP), wrongTokens))), op.maximum(op.sum(wrongTokens), 1));

  // L_LN: softmax over each example's choices of the mean token log-probability
  const rowMean = op.div(op.sum(tokLp, 1), op.maximum(op.sum(keepF, 1), 1)); // (B)
  const scores = op.where(op.greater(valid, 0), op.gather(rowMean, index, 0), MASKED_SCORE); // (E, K)
  const picked = op.squeeze(op.gatherElements(nn.logSoftmax(scores, -1), op.unsqueeze(label, [1]), 1), [1]); // (E)
  const multi = op.cast(op.greater(op.sum(valid, 1), 1), "float32"); // (E): groups with real choices
  const nMulti = op.sum(multi);
  const ln = op.div(op.neg(op.sum(op.mul(picked, multi))), op.maximum(nMulti, 1));

  const best = op.squeeze(op.gatherElements(scores, op.unsqueeze(label, [1]), 1), [1]); // (E)
  const hit = op.cast(op.not(op.less(best, op.max(scores, -1))), "float32");
  return {
    loss: op.add(op.add(lm, ul), ln),
    lm,
    ul,
    ln,
    choiceCorrect: op.sum(op.mul(hit, multi)),
    choiceExamples: nMulti,
    correctTokens,
  };
}
