// Demo steps 1–3: a FINE_TUNING cluster (one unit per dataset, so the fine-tunes run side by side), the
// datasets uploaded to object storage, and one T-Few custom model per dataset, followed live with a
// progress bar (steps, loss) each until every model is ACTIVE.

import cliProgress from "cli-progress";
import { readFileSync } from "node:fs";
import { type SprigClient, waitFor } from "../api/index.ts";
import { CliError } from "../cli/index.ts";
import type { DemoDataset } from "./datasets.ts";
import { DEMO_COMPARTMENT } from "./embedded.ts";
import { type Say, count } from "./say.ts";

const M = "/20231130/models";
export const NAMESPACE = "demo";
export const BUCKET = "training";

/** Fields of a Model the demo reads. */
export interface ModelJson {
  id: string;
  displayName: string;
  lifecycleState: string;
  lifecycleDetails: string | null;
  modelMetrics: { finalAccuracy: number | null; finalLoss: number | null } | null;
  trainableParameters: number | null;
}

export interface TrainingPlan {
  /** T-Few learning rate (Adafactor) */
  learningRate: number;
  /** epochs for a dataset: choice tasks cost one row per answer choice, so they get fewer */
  epochs(d: DemoDataset): number;
  batchSize: number;
}

export interface Trained {
  dataset: DemoDataset;
  model: ModelJson;
  steps: number;
  seconds: number;
}

export async function createFineTuningCluster(client: SprigClient, units: number, say: Say): Promise<string> {
  const { body } = await client.json<{ id: string }>("POST", "/20231130/dedicatedAiClusters", {
    compartmentId: DEMO_COMPARTMENT,
    type: "FINE_TUNING",
    unitCount: units,
    displayName: "demo-fine-tuning",
  });
  const c = await waitFor(client, `/20231130/dedicatedAiClusters/${body.id}`, ["ACTIVE", "FAILED"], undefined, 100);
  say.detail(
    `cluster ${body.id}: ${c.lifecycleState}, ${units} unit${units > 1 ? "s" : ""} of ${c.unitShape} (one fine-tune per unit at a time) on ${where(c)}`,
  );
  return body.id;
}

/** "core 0 of node box, core 1 of node box": where a cluster's units run (its `units` field). */
export function where(c: Record<string, unknown>): string {
  const units = (c.units ?? []) as { cores: number[]; nodeName: string; pinned: boolean }[];
  return (
    units
      .map((u) => `core${u.cores.length > 1 ? "s" : ""} ${u.cores.join(",")} of node ${u.nodeName}${u.pinned ? "" : " (unpinned)"}`)
      .join(", ") || "no reserved cores"
  );
}

/** Delete a cluster and wait until it is gone (its cores are free again). */
export async function deleteCluster(client: SprigClient, id: string, say: Say): Promise<void> {
  await client.json("DELETE", `/20231130/dedicatedAiClusters/${id}`);
  await waitFor(client, `/20231130/dedicatedAiClusters/${id}`, ["DELETED", "FAILED"], undefined, 50);
  say.detail(`deleted the FINE_TUNING cluster ${id}: its cores are free again`);
}

export async function upload(client: SprigClient, sets: readonly DemoDataset[], say: Say): Promise<void> {
  for (const d of sets) {
    const data = readFileSync(d.train);
    await client.raw("PUT", `/n/${NAMESPACE}/b/${BUCKET}/o/${d.name}.jsonl`, data, { "content-type": "application/jsonl" });
    const lines = data
      .toString("utf8")
      .split("\n")
      .filter((l) => l.trim()).length;
    say.detail(
      `${NAMESPACE}/${BUCKET}/${d.name}.jsonl  ${count(lines)} examples (${d.choices ? "answer choices" : "prompt → completion"})`,
    );
  }
}

export async function fineTuneAll(
  client: SprigClient,
  baseModelId: string,
  clusterId: string,
  sets: readonly DemoDataset[],
  plan: TrainingPlan,
  say: Say,
): Promise<Trained[]> {
  const started = Date.now();
  const models: { d: DemoDataset; id: string; wr: string }[] = [];
  for (const d of sets) {
    const { body, headers } = await client.json<{ id: string }>("POST", M, {
      compartmentId: DEMO_COMPARTMENT,
      baseModelId,
      displayName: d.name,
      fineTuneDetails: {
        dedicatedAiClusterId: clusterId,
        trainingDataset: { datasetType: "OBJECT_STORAGE", namespaceName: NAMESPACE, bucketName: BUCKET, objectName: `${d.name}.jsonl` },
        trainingConfig: {
          trainingConfigType: "TFEW_TRAINING_CONFIG",
          totalTrainingEpochs: plan.epochs(d),
          learningRate: plan.learningRate,
          trainingBatchSize: plan.batchSize,
        },
      },
    });
    models.push({ d, id: body.id, wr: headers.get("opc-work-request-id") ?? "" });
    say.detail(
      `${d.name}: T-Few, ${plan.epochs(d)} epoch${plan.epochs(d) > 1 ? "s" : ""}, learning rate ${plan.learningRate}, batch ${plan.batchSize} → model ${body.id}`,
    );
  }
  const progress = new Progress(
    say,
    models.map((m) => m.d.name),
  );
  const done = await Promise.all(
    models.map(async (m, i) => {
      let steps = 0;
      const model = (await waitFor(client, `${M}/${m.id}`, ["ACTIVE", "FAILED"], async (cur) => {
        const { body } = await client.json<{ items: { step: number; totalSteps?: number; trainLoss?: number }[] }>(
          "GET",
          `${M}/${m.id}/metricsHistory`,
        );
        const last = body.items.filter((p) => typeof p.trainLoss === "number").at(-1);
        if (last) progress.update(i, last.step, last.totalSteps ?? last.step, last.trainLoss!, String(cur.lifecycleState));
        steps = Math.max(steps, last?.step ?? 0);
      })) as unknown as ModelJson;
      progress.finish(i, model.lifecycleState);
      return { ...m, model, steps, seconds: (Date.now() - started) / 1000 };
    }),
  );
  progress.stop();
  for (const m of done.filter((x) => x.model.lifecycleState !== "ACTIVE")) {
    const { body } = await client.json<{ items: { message: string }[] }>("GET", `/20231130/workRequests/${m.wr}/errors`);
    const lines = body.items
      .slice(0, 5)
      .map((e) => `\n  ${e.message}`)
      .join("");
    throw new CliError(`fine-tuning ${m.d.name} failed: ${m.model.lifecycleDetails ?? "see the work request"}${lines}`, 1);
  }
  return done.map((m) => ({ dataset: m.d, model: m.model, steps: m.steps, seconds: m.seconds }));
}

/** Progress of several fine-tunes: bars on a terminal, a line per quarter of the steps otherwise. */
class Progress {
  private readonly multi: cliProgress.MultiBar | null;
  private readonly bars: (cliProgress.SingleBar | null)[];
  private readonly quarter: number[];

  constructor(
    private readonly say: Say,
    private readonly names: string[],
  ) {
    const tty = Boolean(say.out.isTTY);
    const width = Math.max(...names.map((n) => n.length));
    this.multi = tty
      ? new cliProgress.MultiBar(
          {
            format: "   {name} |{bar}| {value}/{total} steps · loss {loss} · {state}",
            hideCursor: true,
            stream: say.out,
            clearOnComplete: false,
            barsize: 30,
          },
          cliProgress.Presets.shades_classic,
        )
      : null;
    this.bars = names.map((n) => this.multi?.create(1, 0, { name: n.padEnd(width), loss: "-", state: "CREATING" }) ?? null);
    this.quarter = names.map(() => 0);
  }

  update(i: number, step: number, total: number, loss: number, state: string): void {
    const bar = this.bars[i];
    if (bar) {
      bar.setTotal(total);
      bar.update(step, { loss: loss.toFixed(4), state });
      return;
    }
    const q = Math.floor((4 * step) / Math.max(1, total));
    if (q > this.quarter[i]!) {
      this.quarter[i] = q;
      this.say.detail(`${this.names[i]}: step ${step}/${total}, loss ${loss.toFixed(4)}`);
    }
  }

  finish(i: number, state: string): void {
    this.bars[i]?.update(this.bars[i]!.getTotal(), { state });
  }

  stop(): void {
    this.multi?.stop();
  }
}
