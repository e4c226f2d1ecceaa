// What a fine-tuning run reports: per-step history and the final metrics (metrics.json), and the
// evaluation pass over the validation split that produces the loss and token accuracy.

import type { HostTensor } from "../engine/index.ts";
import type { AutoResolution } from "./auto-hyperparameters.ts";
import type { Compiled } from "../engine/index.ts";
import { type Batch, type BatchLayout, makeBatch, perExampleLoss } from "./batches.ts";
import type { Example } from "./data.ts";

/** One optimizer step; the validation fields only at the logging interval and the last step. */
export interface HistoryEntry {
  /** optimizer steps done */
  step: number;
  /** epoch (1-based) the step belongs to */
  epoch: number;
  /** the step's training loss (weighted over its micro-batches) */
  trainLoss: number;
  /** the step's learning rate */
  learningRate: number;
  /** training tokens (all rows, padding excluded) per second of the step's wall time */
  tokensPerSecond: number;
  /** validation metrics, every logModelMetricsIntervalInSteps steps when there is a validation split */
  validationLoss?: number;
  validationAccuracy?: number;
}

export interface FineTuneMetrics {
  /** share of the evaluation set's completion tokens predicted exactly (argmax) */
  finalAccuracy: number;
  /** evaluation loss (the training objective) */
  finalLoss: number;
  /** which split the final metrics come from: "training" only when the validation split is 0 */
  evaluatedOn: "validation" | "training";
  /** T-Few with answer choices: share of examples whose best-scored choice is the labelled one */
  choiceAccuracy?: number;
  history: HistoryEntry[];
  /** optimizer steps done, and how many the schedule planned */
  steps: number;
  totalSteps: number;
  /** the run stopped because the validation loss stopped improving */
  stoppedEarly: boolean;
  /** stopped early: the step whose parameters the output holds (the best evaluation's), when not the last */
  keptStep?: number;
  trainExamples: number;
  validationExamples: number;
  /** trainable values */
  trainableParameters: number;
  /** the settings that were "auto" (given so, or left to default): what they resolved to and by which rule */
  auto?: AutoResolution;
}

export interface Evaluation {
  loss: number;
  accuracy: number;
  choiceAccuracy?: number;
}

const scalar = (t: HostTensor | undefined): number => Number((t!.data as Float32Array)[0]);

/**
 * Loss and token accuracy of `examples` under the evaluation graph. LM data: the token-mean loss over the
 * whole set; with choices: the example-weighted mean of the per-batch T-Few loss.
 */
export async function evaluate(
  graph: Compiled,
  examples: readonly Example[],
  batchSize: number,
  layout: BatchLayout,
  fixedFeeds: Record<string, HostTensor>,
): Promise<Evaluation> {
  let lossSum = 0;
  let tokens = 0;
  let correct = 0;
  let weighted = 0;
  let choiceHits = 0;
  let choiceN = 0;
  const choices = perExampleLoss(layout);
  for (let i = 0; i < examples.length; i += batchSize) {
    const b: Batch = makeBatch(examples.slice(i, i + batchSize), layout);
    const out = await graph.run({ ...b.feeds, ...fixedFeeds });
    lossSum += scalar(out.loss_sum);
    tokens += scalar(out.tokens);
    correct += scalar(out.correct);
    if (choices) {
      weighted += scalar(out.loss) * b.examples;
      choiceHits += scalar(out.choice_correct);
      choiceN += scalar(out.choice_examples);
    }
  }
  const loss = choices ? weighted / examples.length : lossSum / Math.max(tokens, 1);
  const e: Evaluation = { loss, accuracy: correct / Math.max(tokens, 1) };
  if (choices && choiceN > 0) e.choiceAccuracy = choiceHits / choiceN;
  return e;
}
