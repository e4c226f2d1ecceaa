// The training graph of a causal LM for one fine-tuning method: token-level LM loss on the labelled
// positions (HF convention: position t predicts labels[t+1]), gradients of every trainable tensor,
// and the counts that validation metrics need.

import { Graph, type HostTensor, type Tensor, grad, nn, op } from "../engine/index.ts";
import type { Adapter } from "../adapters/index.ts";
import { adapterKind } from "../adapters/index.ts";
import { type Method, METHODS } from "./methods.ts";
import { choiceLosses } from "./tfew-losses.ts";
import { packedChoiceOutputs } from "./packed-choices.ts";
import { type LoadedModel, type ModelHooks, buildCausalLM, lmHeadWeight, weightSource } from "../models/index.ts";

export type { Method } from "./methods.ts";

export interface TrainGraphOptions {
  method: Method;
  /** T-Few / LoRA: the adapter whose tensors are trained (values are fed, only the layout is used here) */
  adapter?: Adapter;
  /** vanilla: which base weights train (default all) */
  trainableWeight?: (name: string) => boolean;
  /** LoRA dropout: add a `dropout_mask.<path>` input (B, T, in) per adapted module */
  loraDropout?: boolean;
  /** add gradient outputs (false: an evaluation graph) */
  withGrads: boolean;
  /** T-Few's losses over answer choices (see tfew-losses.ts): adds the choice_* and row_correct inputs */
  choices?: boolean;
  /**
   * LM loss: instead of `labels`, take score_index (N) — flat indices b·(T-1)+t of the positions whose next
   * token is scored — and score_labels (N), so the LM head and loss run on scored positions only (prompt
   * and padding positions cost nothing there)
   */
  scoredOnly?: boolean;
  /** with `choices`: one row per example, its choices packed behind the prompt (packed-choices.ts) */
  packedChoices?: boolean;
  /**
   * Frozen base weights as graph inputs fed zero-copy from the model's arrays (`frozen`), not initializers:
   * ORT then holds no copy of them (as initializers it keeps two, the weight and its folded transpose for
   * the backward, 1.2 GB for SmolLM2-135M, per session), and the training and evaluation sessions share
   * the one JS copy (src/training/README.md, Performance).
   */
  frozenInputs?: boolean;
}

export interface TrainGraph {
  graph: Graph;
  /** names of the trainable inputs (PEFT keys for adapters, HF keys for vanilla), in output order */
  trainable: string[];
  /** shapes of the trainable inputs */
  shapes: Map<string, number[]>;
  /** LoRA dropout mask inputs: name → input features */
  dropoutMasks: Map<string, number>;
  /** with `frozenInputs`: the frozen base weights the graph takes as inputs (HF key → the model's tensor) */
  frozen: Map<string, HostTensor>;
}

/**
 * Inputs: input_ids, position_ids, labels (B, T) int64 (-100 = not scored; or score_index/score_labels, see
 * `scoredOnly`) + the trainable tensors.
 * Outputs: loss (mean over scored tokens), loss_sum, tokens, correct (scored tokens whose label is the
 * argmax), and grad.<name> per trainable tensor. With `choices`: loss = L_LM + L_UL + L_LN, the parts as
 * loss_lm/loss_ul/loss_ln, choice_correct/choice_examples, and loss_sum/tokens/correct over the correct
 * choices' tokens.
 */
export function buildTrainGraph(model: LoadedModel, o: TrainGraphOptions): TrainGraph {
  const g = new Graph();
  const cfg = model.config;
  const shapes = new Map<string, number[]>();
  const inputs = new Map<string, Tensor>();
  const param = (key: string, shape: number[]) => {
    let t = inputs.get(key);
    if (!t) {
      t = g.input(key, "float32", shape);
      inputs.set(key, t);
      shapes.set(key, shape);
    }
    return t;
  };
  const dropoutMasks = new Map<string, number>();
  let hooks: ModelHooks | undefined;
  const info = METHODS[o.method];
  const a = o.adapter;
  if (info.adapter !== null) {
    if (!a || a.config.peft_type !== info.adapter) throw new Error(`${info.label} needs an adapter of PEFT type ${info.adapter}`);
    // LoRA dropout: a `dropout_mask.<path>` input multiplies the adapter's input (kinds without one ignore it)
    const dropout = o.loraDropout
      ? (path: string, x: Tensor) => {
          const name = `dropout_mask.${path}`;
          const n = x.shape[2] as number;
          dropoutMasks.set(name, n);
          return op.mul(x, param(name, ["B", "T", n] as never));
        }
      : undefined;
    hooks = adapterKind(a.config).hooks(cfg, a.config, (key, shape) => param(key, shape), dropout);
  }
  // the base weights train only for a method without an adapter (vanilla)
  const trainsBase = info.adapter === null;
  const trains = trainsBase ? (o.trainableWeight ?? (() => true)) : () => false;
  const w = weightSource(g, model.weights, o.frozenInputs ? () => true : trains);
  const packed = o.choices === true && o.packedChoices === true;
  const lm = buildCausalLM(g, cfg, w, { cache: false, logits: "none", hooks, segments: packed });

  // position t predicts labels[t + 1]: drop the last position before the LM head
  const h = op.slice(lm.hidden, 1, 0, -1); // (B, T-1, C)
  const headW = lmHeadWeight(cfg, w); // (V, C)
  const head = (x: Tensor) => op.matmul(x, op.transpose(headW, [1, 0])); // (…, C) → (…, V)
  let loss: Tensor;
  if (packed) {
    const index = g.input("score_index", "int64", ["N"]); // flat b·T+t: the position predicting each scored token
    loss = packedChoiceOutputs(head(op.gather(op.reshape(lm.hidden, ["B*T", cfg.hiddenSize]), index, 0)));
  } else if (o.choices) loss = choiceOutputs(g, head(h), g.input("labels", "int64", ["B", "T"]));
  else if (o.scoredOnly) {
    const index = g.input("score_index", "int64", ["N"]);
    const rows = op.gather(op.reshape(h, ["B*T-B", cfg.hiddenSize]), index, 0); // (N, C)
    loss = lmOutputs(g, head(rows), g.input("score_labels", "int64", ["N"]));
  } else {
    const labels = g.input("labels", "int64", ["B", "T"]);
    const logits = op.reshape(head(h), ["B*T-B", cfg.vocabSize]); // (B·(T-1), V)
    loss = lmOutputs(g, logits, op.reshape(op.slice(labels, 1, 1), ["B*T-B"]));
  }

  const trainable = trainsBase ? w.trainable.filter(trains) : [...inputs.keys()].filter((k) => !dropoutMasks.has(k));
  if (trainsBase) for (const k of trainable) shapes.set(k, model.weights.get(k)!.shape);
  const frozen = new Map<string, HostTensor>();
  for (const k of w.trainable) {
    const m = model.weights.get(k)!;
    if (!trains(k)) frozen.set(k, { dtype: "float32", shape: m.shape, data: m.data });
  }
  if (o.withGrads) {
    const wrt = trainable.map((k) => (trainsBase ? w.get(k) : inputs.get(k)!));
    grad(loss, wrt).forEach((t, i) => g.output(`grad.${trainable[i]}`, t));
  }
  return { graph: g, trainable, shapes, dropoutMasks, frozen };
}

/** Token-level LM loss and counts. logits: (N, V), target: (N) with -100 = not scored */
function lmOutputs(g: Graph, logits: Tensor, target: Tensor): Tensor {
  const { losses, count } = nn.crossEntropyTokens(logits, target);
  const lossSum = op.sum(losses);
  const loss = op.div(lossSum, op.maximum(count, 1));
  // a scored token is correct when its label's logit is the row maximum
  const safe = op.where(op.equal(target, -100), 0, target);
  const picked = op.squeeze(op.gatherElements(logits, op.unsqueeze(safe, [1]), 1), [1]);
  const hit = op.cast(op.not(op.less(picked, op.max(logits, -1))), "float32");
  const scored = op.cast(op.not(op.equal(target, -100)), "float32");
  g.output("loss", loss);
  g.output("loss_sum", lossSum);
  g.output("tokens", count);
  g.output("correct", op.sum(op.mul(hit, scored)));
  return loss;
}

/** T-Few's choice losses; token counts over the correct choices. logits: (B, T-1, V), labels: (B, T) */
function choiceOutputs(g: Graph, logits3: Tensor, labels: Tensor): Tensor {
  const target = op.slice(labels, 1, 1); // (B, T-1)
  const c = choiceLosses(logits3, target);
  const safe = op.where(op.equal(target, -100), 0, target);
  const picked = op.squeeze(op.gatherElements(logits3, op.unsqueeze(safe, [2]), 2), [2]); // (B, T-1)
  const hit = op.cast(op.not(op.less(picked, op.max(logits3, -1))), "float32");
  const tokens = op.sum(c.correctTokens);
  g.output("loss", c.loss);
  g.output("loss_sum", op.mul(c.lm, tokens));
  g.output("tokens", tokens);
  g.output("correct", op.sum(op.mul(hit, c.correctTokens)));
  g.output("loss_lm", c.lm);
  g.output("loss_ul", c.ul);
  g.output("loss_ln", c.ln);
  g.output("choice_correct", c.choiceCorrect);
  g.output("choice_examples", c.choiceExamples);
  return c.loss;
}
