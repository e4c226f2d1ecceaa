// The T-Few study's report: a Markdown table per task, the goals checked against the measured numbers,
// and a PNG of each task's validation-loss curves.

import { writeFile } from "node:fs/promises";
import { basename } from "node:path";
import { lineChartPng } from "../pretrain/plot.ts";

export interface MethodResult {
  label: string;
  method: string;
  /** choice tasks: choice accuracy; generation tasks: token accuracy (teacher-forced) */
  testAccuracy: number;
  /** generation tasks: exact match of the greedy completion */
  exactMatch: number | null;
  trainableParameters: number;
  wallSeconds: number;
  /** CPU seconds of the process while it trained (all ORT threads): what other load on the machine inflates least */
  cpuSeconds?: number;
  /** the 1-minute load average, the higher of its values before and after the run (2 = both cores busy) */
  loadAverage?: number;
  /** trainable values + gradients + optimizer state, bytes */
  stateBytes: number;
  /** memory one more such custom model adds when hosted (table rows, or a whole model) */
  servingBytesPerModel: number;
  steps: number;
  learningRate: number;
  optimizer: string;
  batchSize: number;
  epochs: number;
  /** stopped early: the step whose parameters were kept */
  keptStep?: number;
  /** [step, validation loss] */
  validationCurve: Array<[number, number]>;
}

export interface TaskResult {
  task: string;
  kind: "choice" | "generation";
  trainExamples: number;
  testExamples: number;
  zeroShot: number;
  fewShot: number;
  zeroShotExact: number | null;
  fewShotExact: number | null;
  methods: MethodResult[];
}

export interface StudyResult {
  model: string;
  baseParameters: number;
  baseBytes: number;
  /** "auto" (the default) or the epochs given for every method */
  epochs: number | "auto";
  started: string;
  minutes: number;
  /** merged from this many runs (one process per task, side by side); absent: one process */
  processes?: number;
  tasks: TaskResult[];
}

const COLORS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd"];
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const mb = (b: number) => `${(b / 2 ** 20).toFixed(2)} MiB`;
const bytes = (b: number) => (b < 2 ** 20 ? `${(b / 1024).toFixed(1)} KiB` : mb(b));

export async function writeReport(s: StudyResult, out: string): Promise<void> {
  const lines: string[] = [
    "# T-Few study",
    "",
    `Base model \`${s.model}\`: ${(s.baseParameters / 1e6).toFixed(2)} M parameters (${mb(s.baseBytes)} as float32). ` +
      (s.epochs === "auto"
        ? "Every method with Sprig's defaults (`auto` epochs, learning rate and batch size, early stopping keeping the best evaluation; docs/hyperparameters.md) and checkpoints off, "
        : `Every method: ${s.epochs} epochs, the other settings Sprig's defaults, `) +
      "the trainer's default 80/20 train/validation split of each task's train file; " +
      `test accuracy on the task's held-out test file. Run started ${s.started}, took ${s.minutes.toFixed(1)} min on this machine` +
      (s.processes ? ` (${s.processes} processes side by side, one per task: each task's wall times come from one process)` : "") +
      ". " +
      "Regenerate with `npm run study-tfew` (or one process per task, `--tasks T --out DIR/T`, then `--merge DIR/a.json,…`); raw numbers in `study-tfew.json`.",
    "",
    "Test accuracy: choice tasks by the highest length-normalized log-likelihood among the answer choices; generation tasks by " +
      "token accuracy — the share of the reference completion's tokens the model predicts exactly given the reference so far (the " +
      "`finalAccuracy` Sprig reports for a custom model) — with exact match of the whole greedy completion (whitespace trimmed) beside it. Few-shot: up to 3 solved training examples in the prompt, as many as fit the context. " +
      "Training state = trainable values + gradients + optimizer state (float32). Serving memory of 10 custom models: the base once plus 10 adapters' table rows " +
      "(parameter sharing), against 10 whole copies of the model.",
    "",
  ];
  const goals: string[] = [];
  for (const t of s.tasks) {
    lines.push(`## ${t.task} (${t.kind}; ${t.trainExamples} train, ${t.testExamples} test)`, "");
    const exact = (x: number | null) => (x === null ? "" : ` (exact match ${pct(x)})`);
    lines.push(
      `Base model: zero-shot ${pct(t.zeroShot)}${exact(t.zeroShotExact)}, few-shot ${pct(t.fewShot)}${exact(t.fewShotExact)}.`,
      "",
    );
    lines.push(
      "| method | test accuracy | exact match | trainable parameters | share of base | training wall time | training state | 10 custom models served | optimizer, lr | batch × epochs (steps) |",
    );
    lines.push("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const m of t.methods) {
      const shared = m.method === "vanilla" ? 10 * m.servingBytesPerModel : s.baseBytes + 10 * m.servingBytesPerModel;
      lines.push(
        `| ${m.label} | ${pct(m.testAccuracy)} | ${m.exactMatch === null ? "—" : pct(m.exactMatch)} | ${m.trainableParameters.toLocaleString("en-US")} | ${((100 * m.trainableParameters) / s.baseParameters).toPrecision(3)}% | ` +
          `${m.wallSeconds.toFixed(1)} s${m.cpuSeconds !== undefined ? ` (cpu ${m.cpuSeconds.toFixed(0)} s, load ${m.loadAverage!.toFixed(1)})` : ""} | ${bytes(m.stateBytes)} | ${mb(shared)} (vs ${mb(10 * s.baseBytes)} for 10 copies) | ${m.optimizer}, ${m.learningRate} | ${m.batchSize} × ${m.epochs} (${m.steps}${m.keptStep !== undefined ? `, kept ${m.keptStep}` : ""}) |`,
      );
    }
    const png = `${out}-val-loss-${t.task}.png`;
    await writeFile(
      png,
      lineChartPng({
        title: `${t.task}: validation loss`,
        xLabel: "optimizer step",
        yLabel: "validation loss",
        series: t.methods.map((m, i) => ({ name: m.label, points: m.validationCurve, color: COLORS[i % COLORS.length]!, markers: true })),
      }),
    );
    lines.push("", `![validation loss, ${t.task}](${basename(png)})`, "");
    const tfew = t.methods.find((m) => m.method === "tfew");
    const vanilla = t.methods.find((m) => m.method === "vanilla");
    if (tfew && vanilla) {
      const ratio = vanilla.testAccuracy > 0 ? tfew.testAccuracy / vanilla.testAccuracy : Infinity;
      goals.push(
        `| ${t.task} | accuracy ≥ 0.9 × vanilla's | ${pct(tfew.testAccuracy)} vs ${pct(vanilla.testAccuracy)} (×${ratio.toFixed(2)}) | ${ratio >= 0.9 ? "met" : "**not met**"} |`,
      );
      goals.push(
        `| ${t.task} | accuracy well above base few-shot | ${pct(tfew.testAccuracy)} vs ${pct(t.fewShot)} | ${tfew.testAccuracy >= t.fewShot + 0.1 ? "met" : "**not met**"} |`,
      );
      const share = tfew.trainableParameters / s.baseParameters;
      goals.push(`| ${t.task} | trainable ≤ 0.1% of base | ${(100 * share).toPrecision(3)}% | ${share <= 0.001 ? "met" : "**not met**"} |`);
      const time = tfew.wallSeconds / vanilla.wallSeconds;
      const cpu =
        tfew.cpuSeconds !== undefined && vanilla.cpuSeconds !== undefined
          ? `; CPU time ×${(tfew.cpuSeconds / vanilla.cpuSeconds).toFixed(2)}`
          : "";
      goals.push(
        `| ${t.task} | wall time ≤ 0.7 × vanilla's | ${tfew.wallSeconds.toFixed(1)} s vs ${vanilla.wallSeconds.toFixed(1)} s (×${time.toFixed(2)}${cpu}) | ${time <= 0.7 ? "met" : "**not met**"} |`,
      );
    }
  }
  lines.push("## Goals", "", "| task | goal | measured | verdict |", "| --- | --- | --- | --- |", ...goals, "");
  const choiceTasks = s.tasks.filter((t) => t.kind === "choice").map((t) => t.task);
  lines.push(
    "## Reading the verdicts",
    "",
    "- Trainable share: (IA)³ learns 2 × (KV width) + (MLP width) values per layer, while a layer holds about 12 × hidden² weights, so " +
      "the share shrinks as models grow: the same recipe is 30 × (192 + 192 + 1536) = 57,600 values, 0.043% of a SmolLM2-135M-shaped model, " +
      `but ${((100 * (s.tasks[0]?.methods.find((m) => m.method === "tfew")?.trainableParameters ?? 0)) / s.baseParameters).toPrecision(3)}% of this ${(s.baseParameters / 1e6).toFixed(1)} M-parameter base.`,
    ...(choiceTasks.length
      ? [
          `- Wall time on choice tasks (${choiceTasks.join(", ")}): T-Few's unlikelihood and length-normalized losses score every answer ` +
            "choice; LoRA and vanilla train on the correct answer only. T-Few packs an example's choices behind its prompt in one row " +
            "(a block attention mask, `src/training/packed-choices.ts`), so an example costs one row, as long as the prompt plus all choices.",
        ]
      : []),
    "- Wall times include each run's graph compilation and validation passes, on a shared 2-core machine.",
    "",
  );
  await writeFile(`${out}.md`, `${lines.join("\n")}\n`);
}
