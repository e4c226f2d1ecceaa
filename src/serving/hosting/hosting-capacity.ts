// What a hosting engine with given options can hold, as one pure check: LoRA ranks and target modules,
// kinds without tables, pinned adapters beyond the table rows, full custom models, and memory. Adapters
// beyond the table rows are no limit: they wait in host memory or on disk (adapter-residency.ts). The
// engine refuses the same things on activation; the control plane runs this first, so an endpoint that
// could never be served is refused at creation with the reason rather than failing when it is activated.

import { defaultIa3Config } from "../../adapters/index.ts";
import { loraConfig } from "../../adapters/index.ts";
import type { PeftConfig } from "../../adapters/index.ts";
import { type ModelConfig, expectedTensors } from "../../models/index.ts";
import { AdapterTables, type TableOptions } from "./adapter-tables.ts";
import { type HostingOptions, type HostingOptionsInput, HostingOptionsSchema } from "./engine-options.ts";
import { defaultBuckets } from "./lora-tables.ts";

/** A model an engine would hold: the base itself, an adapter (by its PEFT config; `pinned` hot), or a full custom model. */
export type HeldModel = { kind: "base" } | { kind: "adapter"; config: PeftConfig; pinned?: boolean } | { kind: "full" };

export interface CapacityProblem {
  /** "model": this model can never be served by such an engine; "capacity": not beside the others */
  scope: "model" | "capacity";
  message: string;
}

/** The adapter tables an engine with these options builds for `model`. */
export function tableOptions(model: ModelConfig, opts: HostingOptions, rows?: { ia3: number; lora: number }): TableOptions {
  const ia3Default = defaultIa3Config(model);
  return {
    maxIa3: rows?.ia3 ?? opts.maxAdapters,
    ia3Targets: opts.ia3.targetModules ?? (ia3Default.target_modules as string[]),
    ia3Feedforward: opts.ia3.feedforwardModules ?? (opts.ia3.targetModules ? [] : (ia3Default.feedforward_modules as string[])),
    maxLora: rows?.lora ?? opts.lora.maxAdapters,
    loraBuckets: opts.lora.rankBuckets ?? defaultBuckets(opts.lora.rank),
    loraTargets: opts.lora.targetModules ?? (loraConfig(model, { r: 1, alpha: 1, dropout: 0 }).target_modules as string[]),
  };
}

/** float32 bytes of a model of this config (the base, or a full custom model of it) */
export const modelBytes = (model: ModelConfig): number =>
  [...expectedTensors(model).values()].reduce((s, shape) => s + 4 * shape.reduce((a, b) => a * b, 1), 0);

/**
 * Why an engine on `base` with `options` cannot hold all of `models` at once (empty: it can). With
 * `weightBudgetBytes`, the base, every full model and what the adapters can occupy at once must fit in it:
 * per kind, the largest adapters that fill its table rows, plus the rest up to the host tier's budget
 * (`adapterHostBytes`); adapters beyond that wait on disk and cost no memory.
 */
export function capacityProblems(
  base: ModelConfig,
  options: HostingOptionsInput,
  models: readonly HeldModel[],
  weightBudgetBytes?: number,
): CapacityProblem[] {
  const opts = HostingOptionsSchema.parse(options);
  // two rows are enough to check configs and sizes; nothing is allocated for the rest
  const tables = new AdapterTables(
    base,
    tableOptions(base, opts, { ia3: Math.min(1, opts.maxAdapters), lora: Math.min(1, opts.lora.maxAdapters) }),
  );
  const out: CapacityProblem[] = [];
  const adapters = { ia3: [] as number[], lora: [] as number[] };
  const pinned = { ia3: 0, lora: 0 };
  let full = 0;
  for (const m of models) {
    if (m.kind === "base") continue;
    if (m.kind === "full") {
      full++;
      continue;
    }
    const why = tables.configProblems(m.config);
    for (const message of why) out.push({ scope: "model", message });
    if (why.length) continue;
    const kind = m.config.peft_type === "IA3" ? "ia3" : "lora";
    adapters[kind].push(tables.bytesFor(m.config));
    if (m.pinned) pinned[kind]++;
  }
  const rows = { ia3: opts.maxAdapters, lora: opts.lora.maxAdapters };
  for (const k of ["ia3", "lora"] as const) {
    const label = k === "ia3" ? "T-Few" : "LoRA";
    if (pinned[k] > rows[k])
      out.push({
        scope: "capacity",
        message: `${pinned[k]} pinned ${label} adapters, but a unit has ${rows[k]} table rows to pin them in`,
      });
    else if (pinned[k] === rows[k] && adapters[k].length > pinned[k])
      out.push({
        scope: "capacity",
        message: `${pinned[k]} pinned ${label} adapters take all ${rows[k]} table rows: the unpinned ones could never be served`,
      });
  }
  if (full > opts.maxFullModels)
    out.push({
      scope: "capacity",
      message: `${full} full custom models (each a whole copy of the weights), but a unit holds at most ${opts.maxFullModels}`,
    });
  let hot = 0;
  let rest = 0;
  for (const k of ["ia3", "lora"] as const) {
    const sizes = adapters[k].sort((a, b) => b - a);
    sizes.forEach((b, i) => (i < rows[k] ? (hot += b) : (rest += b)));
  }
  const bytes = modelBytes(base) * (1 + full) + hot + Math.min(rest, opts.adapterHostBytes);
  if (weightBudgetBytes !== undefined && bytes > weightBudgetBytes)
    out.push({
      scope: "capacity",
      message: `the base, full models and adapters need ${mib(bytes)} of weights (adapters: ${mib(hot)} in table rows, ${mib(Math.min(rest, opts.adapterHostBytes))} in host memory), but a unit's weight budget is ${mib(weightBudgetBytes)}`,
    });
  return out;
}

const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
