// The demo's closing report: per custom model its training metrics, trainable parameters and held-out
// accuracy against the base model; serving memory of the base vs each custom model; throughput; the
// endpoint switch; elapsed time. As text, and as one JSON object for --json.

import type { Trained } from "./fine-tune.ts";
import type { DemoEndpoint, ToggleResult } from "./hosting.ts";
import { type Say, bytes, count, pct } from "./say.ts";
import type { BurstResult } from "./traffic.ts";

export interface DemoReport {
  model: { dir: string; parameters: number };
  customModels: {
    name: string;
    modelId: string;
    endpointId: string;
    method: "T-Few";
    steps: number;
    trainingSeconds: number;
    finalAccuracy: number | null;
    finalLoss: number | null;
    trainableParameters: number | null;
    /** trainable parameters / base parameters */
    trainableShare: number | null;
    /** accuracy on its own dataset's held-out prompts: the base model's and its own */
    accuracy: { base: number | null; custom: number | null; heldOut: boolean };
    /** completion datasets: word-overlap F1 on the same prompts, base and custom (null for choice sets) */
    wordF1: { base: number | null; custom: number | null } | null;
    memoryBytes: number | null;
  }[];
  /** accuracy[endpoint][dataset] */
  accuracy: Record<string, Record<string, number>>;
  /** completion datasets: wordF1[endpoint][dataset] */
  wordF1: Record<string, Record<string, number>>;
  memory: { baseBytes: number | null; perModel: Record<string, number | null> };
  throughput: { requests: number; completionTokens: number; seconds: number; tokensPerSecond: number; requestsPerSecond: number };
  toggle: ToggleResult;
  elapsedSeconds: number;
}

export interface ReportInputs {
  modelDir: string;
  baseParameters: number;
  trained: Trained[];
  endpoints: DemoEndpoint[];
  traffic: BurstResult;
  memory: Map<string, number>;
  toggle: ToggleResult;
  elapsedSeconds: number;
}

export function buildReport(r: ReportInputs): DemoReport {
  const customModels = r.trained.map((t) => {
    const ep = r.endpoints.find((e) => e.modelId === t.model.id)!;
    const name = t.dataset.name;
    const tp = t.model.trainableParameters;
    return {
      name,
      modelId: t.model.id,
      endpointId: ep.id,
      method: "T-Few" as const,
      steps: t.steps,
      trainingSeconds: Math.round(t.seconds * 10) / 10,
      finalAccuracy: t.model.modelMetrics?.finalAccuracy ?? null,
      finalLoss: t.model.modelMetrics?.finalLoss ?? null,
      trainableParameters: tp,
      trainableShare: tp === null ? null : tp / r.baseParameters,
      accuracy: {
        base: r.traffic.accuracy.base?.[name] ?? null,
        custom: r.traffic.accuracy[name]?.[name] ?? null,
        heldOut: t.dataset.heldOut,
      },
      wordF1: t.dataset.choices ? null : { base: r.traffic.f1.base?.[name] ?? null, custom: r.traffic.f1[name]?.[name] ?? null },
      memoryBytes: r.memory.get(ep.id) ?? null,
    };
  });
  const { requests, completionTokens, seconds } = r.traffic;
  return {
    model: { dir: r.modelDir, parameters: r.baseParameters },
    customModels,
    accuracy: r.traffic.accuracy,
    wordF1: r.traffic.f1,
    memory: { baseBytes: r.memory.get("base") ?? null, perModel: Object.fromEntries(customModels.map((c) => [c.name, c.memoryBytes])) },
    throughput: {
      requests,
      completionTokens,
      seconds: Math.round(seconds * 100) / 100,
      tokensPerSecond: completionTokens / seconds,
      requestsPerSecond: requests / seconds,
    },
    toggle: r.toggle,
    elapsedSeconds: Math.round(r.elapsedSeconds * 10) / 10,
  };
}

const num = (x: number | null, digits: number) => (x === null ? "—" : x.toFixed(digits));

export function printReport(rep: DemoReport, say: Say): void {
  say.heading("Report");
  say.table([
    [
      "custom model (T-Few)",
      "steps",
      "trained in",
      "val. acc.",
      "val. loss",
      "trainable",
      `right${rep.customModels.every((c) => c.accuracy.heldOut) ? " (held out)" : ""}: base → custom`,
      "word F1: base → custom",
    ],
    ...rep.customModels.map((c) => [
      c.name,
      String(c.steps),
      `${c.trainingSeconds.toFixed(0)} s`,
      pct(c.finalAccuracy),
      num(c.finalLoss, 3),
      `${count(c.trainableParameters)} (${c.trainableShare === null ? "—" : `${(100 * c.trainableShare).toFixed(2)}%`})`,
      `${pct(c.accuracy.base)} → ${pct(c.accuracy.custom)}`,
      c.wordF1 ? `${pct(c.wordF1.base)} → ${pct(c.wordF1.custom)}` : "—",
    ]),
  ]);
  say.detail(
    `val. acc. = validation completion tokens predicted exactly; trainable = parameters trained, share of the base model's ${count(rep.model.parameters)}`,
  );
  say.line();
  const base = rep.memory.baseBytes;
  say.table([
    ["serving memory", "bytes", "vs base"],
    ["base model (shared)", bytes(base), "100%"],
    ...rep.customModels.map((c) => [
      `+ ${c.name}`,
      bytes(c.memoryBytes),
      base && c.memoryBytes !== null ? `${((100 * c.memoryBytes) / base).toFixed(3)}%` : "—",
    ]),
  ]);
  const t = rep.throughput;
  say.line();
  say.detail(
    `throughput: ${t.requests} concurrent requests, ${count(t.completionTokens)} completion tokens in ${t.seconds.toFixed(2)} s → ${t.tokensPerSecond.toFixed(0)} tokens/s, ${t.requestsPerSecond.toFixed(1)} requests/s (base and custom models in the same batches)`,
  );
  const g = rep.toggle;
  say.detail(
    `endpoint switch (${g.endpoint}): deactivate ${g.deactivateMs} ms, reactivate ${g.activateMs} ms; refused while inactive: ${g.refusal ? `${g.refusal.status}` : "no"}; others served meanwhile: ${g.othersServed ? "yes" : "no"}`,
  );
  say.detail(`elapsed: ${formatDuration(rep.elapsedSeconds)} (base model ${rep.model.dir})`);
}

export function formatDuration(s: number): string {
  const m = Math.floor(s / 60);
  return m ? `${m} min ${Math.round(s - 60 * m)} s` : `${s.toFixed(1)} s`;
}
