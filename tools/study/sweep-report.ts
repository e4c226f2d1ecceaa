// The hyperparameter sweep's results: the run record, the choice of each method's best rate (mean held-out
// accuracy over the rate stage's datasets), and the Markdown tables written between the markers of
// docs/hyperparameters.md ("How the defaults were chosen").

import { readFile, writeFile } from "node:fs/promises";
import { autoBatchSize, autoEpochs } from "../../src/training/auto-hyperparameters.ts";
import type { Method } from "../../src/training/methods.ts";

export interface SweepRun {
  id: string;
  stage: "reference" | "rate" | "choice" | "epochs" | "batch" | "size";
  dataset: string;
  kind: "generation" | "choice";
  trainExamples: number;
  method: Method;
  learningRate: number;
  batchSize: number;
  epochs: number;
  steps: number;
  /** token accuracy on the dataset's held-out file after the last step */
  heldOutAccuracy: number;
  heldOutLoss: number;
  /** T-Few on answer choices: share of held-out examples whose best choice is the labelled one */
  choiceAccuracy?: number;
  seconds: number;
}

export interface SweepResult {
  model: string;
  seed: number;
  started: string;
  minutes: number;
  runs: SweepRun[];
}

const LABEL: Record<Method, string> = { tfew: "T-Few", lora: "LoRA", vanilla: "vanilla" };
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** Mean held-out accuracy per rate of the rate stage, for one method. */
export function rateMeans(runs: readonly SweepRun[], method: Method): Map<number, number> {
  const by = new Map<number, number[]>();
  for (const r of runs)
    if (r.stage === "rate" && r.method === method) by.set(r.learningRate, [...(by.get(r.learningRate) ?? []), r.heldOutAccuracy]);
  return new Map([...by].sort((a, b) => a[0] - b[0]).map(([lr, xs]) => [lr, mean(xs)]));
}

/** The rate with the best mean held-out accuracy (the lower rate on a tie). */
export function bestRate(runs: readonly SweepRun[], method: Method): number {
  let best: [number, number] | undefined;
  for (const [lr, acc] of rateMeans(runs, method)) if (!best || acc > best[1] + 1e-9) best = [lr, acc];
  if (!best) throw new Error(`no rate-stage runs for ${method}`);
  return best[0];
}

function table(head: string[], rows: string[][]): string[] {
  return [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)];
}

export function sweepMarkdown(s: SweepResult): string {
  const methods: Method[] = ["tfew", "lora", "vanilla"];
  const stage = (st: SweepRun["stage"]) => s.runs.filter((r) => r.stage === st);
  const cell = (r: SweepRun) => `${pct(r.heldOutAccuracy)}${r.choiceAccuracy !== undefined ? ` (choices ${pct(r.choiceAccuracy)})` : ""}`;
  const lines: string[] = [
    `Sweep of ${s.runs.length} fine-tunes of \`${s.model}\` (seed ${s.seed}), ${s.minutes.toFixed(0)} min of fine-tuning on the shared 2-core machine (load average ~20); raw numbers in \`hyperparameters-sweep.json\`. Accuracy: token accuracy on the dataset's held-out file after the last step (early stopping off). Regenerate with \`npm run study-hyperparameters\`.`,
    "",
    "The previous fixed defaults on the 96-example facts task, 8 epochs, batch 8:",
    "",
    ...table(
      ["method", "learning rate", "steps", "held-out accuracy"],
      stage("reference").map((r) => [LABEL[r.method], String(r.learningRate), String(r.steps), cell(r)]),
    ),
    "",
    "Learning rates, at the auto batch size and epochs of each dataset:",
    "",
  ];
  const rateRows: string[][] = [];
  for (const d of [...new Set(stage("rate").map((r) => r.dataset))])
    for (const m of methods) {
      const rs = stage("rate").filter((r) => r.dataset === d && r.method === m);
      if (!rs.length) continue;
      rateRows.push([
        d,
        LABEL[m],
        `${rs[0]!.batchSize} × ${rs[0]!.epochs} ep (${rs[0]!.steps} steps)`,
        rs.map((r) => `${r.learningRate}: ${cell(r)}`).join(" · "),
      ]);
    }
  lines.push(...table(["dataset", "method", "batch × epochs", "rate: accuracy"], rateRows), "");
  lines.push(
    ...table(
      ["method", "mean accuracy per rate", "best"],
      methods.map((m) => [
        LABEL[m],
        [...rateMeans(s.runs, m)].map(([lr, a]) => `${lr}: ${pct(a)}`).join(" · "),
        String(bestRate(s.runs, m)),
      ]),
    ),
    "",
    "At each method's best rate: the choice task, the auto batch size and epochs against twice the epochs (facts-96) and batch 8 (past-tense-32), and 250 and 1000 examples:",
    "",
  );
  const around: string[][] = [];
  const datasets = [...new Set(s.runs.filter((r) => r.stage !== "reference").map((r) => r.dataset))];
  for (const d of datasets)
    for (const m of methods) {
      const lr = bestRate(s.runs, m);
      const rs = [
        ...new Map(
          s.runs.filter((r) => r.stage !== "reference" && r.dataset === d && r.method === m && r.learningRate === lr).map((r) => [r.id, r]),
        ).values(),
      ];
      if (rs.length === 0) continue;
      const n = rs[0]!.trainExamples;
      const isAuto = (r: SweepRun) => r.batchSize === autoBatchSize(n) && r.epochs === autoEpochs(n, r.batchSize);
      rs.sort((x, y) => x.batchSize - y.batchSize || x.epochs - y.epochs);
      around.push([
        d,
        LABEL[m],
        String(lr),
        rs.map((r) => `${r.batchSize} × ${r.epochs} ep (${r.steps} steps): ${cell(r)}${isAuto(r) ? " **auto**" : ""}`).join(" · "),
      ]);
    }
  lines.push(...table(["dataset", "method", "rate", "batch × epochs: accuracy"], around));
  return lines.join("\n");
}

export const BEGIN = "<!-- sweep:begin (generated by tools/study/sweep.ts) -->";
export const END = "<!-- sweep:end -->";

export async function writeSweepReport(s: SweepResult, doc: string): Promise<void> {
  const text = await readFile(doc, "utf8");
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${doc} has no ${BEGIN} … ${END} block for the sweep's table`);
  await writeFile(doc, `${text.slice(0, a + BEGIN.length)}\n\n${sweepMarkdown(s)}\n\n${text.slice(b)}`);
}
