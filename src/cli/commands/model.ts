// `sprig model import|finetune|list|get|update|delete|metrics|watch`: models over the API; `finetune`
// and `watch` show a live progress bar (step, loss) until the custom model is ACTIVE or FAILED.

import cliProgress from "cli-progress";
import type { Command } from "commander";
import { resolve } from "node:path";
import { type SprigClient, connect, print, waitFor, withConnection, type ConnectionFlags } from "../../api/index.ts";
import { CliError } from "../errors.ts";
import { parseNumberOrAuto } from "../parse.ts";
import { registerModelIo } from "./model-io.ts";

const P = "/20231130/models";
const METHODS: Record<string, string> = { tfew: "TFEW_TRAINING_CONFIG", lora: "LORA_TRAINING_CONFIG", vanilla: "VANILLA_TRAINING_CONFIG" };

/** Follow a fine-tune: a progress bar on a terminal, one line per update otherwise. */
export async function watchFineTune(client: SprigClient, id: string, json: boolean): Promise<Record<string, unknown>> {
  const tty = process.stderr.isTTY && !json;
  const bar = tty
    ? new cliProgress.SingleBar(
        { format: "fine-tuning |{bar}| {value}/{total} steps · loss {loss} · {state}", hideCursor: true, stream: process.stderr },
        cliProgress.Presets.shades_classic,
      )
    : null;
  let started = false;
  let lastStep = -1;
  const done = await waitFor(client, `${P}/${id}`, ["ACTIVE", "FAILED", "DELETED"], async (m) => {
    const { body } = await client.json<{ items: { step: number; totalSteps?: number; trainLoss?: number }[] }>(
      "GET",
      `${P}/${id}/metricsHistory`,
    );
    const last = body.items.at(-1);
    if (!last || last.step === lastStep) return;
    lastStep = last.step;
    const loss = typeof last.trainLoss === "number" ? last.trainLoss.toFixed(4) : "-";
    if (bar) {
      if (!started) bar.start(last.totalSteps ?? last.step, last.step, { loss, state: m.lifecycleState });
      started = true;
      bar.setTotal(last.totalSteps ?? last.step);
      bar.update(last.step, { loss, state: m.lifecycleState });
    } else if (!json) process.stderr.write(`step ${last.step}/${last.totalSteps ?? "?"} loss ${loss}\n`);
  });
  bar?.stop();
  return done;
}

export function registerModel(program: Command): void {
  const m = program.command("model").description("models: BASE (imported) and CUSTOM (fine-tuned)");
  withConnection(m.command("import"))
    .description("register a Hugging Face model directory (on the server's machine) as a BASE model")
    .requiredOption("--path <dir>", "directory with config.json and *.safetensors")
    .requiredOption("--compartment-id <id>", "compartment")
    .option("--name <name>", "display name")
    .action(async (f: ConnectionFlags & { path: string; compartmentId: string; name?: string }) =>
      print(
        (
          await connect(f).json("POST", P, {
            compartmentId: f.compartmentId,
            modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: resolve(f.path) },
            ...(f.name ? { displayName: f.name } : {}),
          })
        ).body,
      ),
    );
  registerModelIo(m);
  withConnection(m.command("finetune"))
    .description("create a CUSTOM model by fine-tuning; shows progress until it is ACTIVE (or FAILED)")
    .requiredOption("--base-model-id <id>", "the model to start from")
    .requiredOption("--cluster-id <id>", "an ACTIVE FINE_TUNING cluster")
    .requiredOption("--compartment-id <id>", "compartment")
    .requiredOption("--dataset <ns/bucket/object>", "training data in object storage (upload with `sprig data put`)")
    .option("--validation-data <ns/bucket/object>", "validation data in object storage (default: 20% of --dataset held out)")
    .option("--method <m>", "tfew, lora or vanilla", "tfew")
    .option("--epochs <n>", "totalTrainingEpochs, or auto (default: from the dataset's size)")
    .option("--learning-rate <x>", "learningRate, or auto (default: per method and base-model size)")
    .option("--batch-size <n>", "trainingBatchSize, or auto (default: from the dataset's size)")
    .option("--config <json>", "further training config fields as JSON (OCI names, e.g. '{\"loraR\": 8}')")
    .option("--name <name>", "display name")
    .option("--no-wait", "return at once (CREATING)")
    .option("--json", "print only the final model as JSON")
    .action(
      async (
        f: ConnectionFlags & {
          baseModelId: string;
          clusterId: string;
          compartmentId: string;
          dataset: string;
          validationData?: string;
          method: string;
          epochs?: string;
          learningRate?: string;
          batchSize?: string;
          config?: string;
          name?: string;
          wait: boolean;
          json?: boolean;
        },
      ) => {
        const objectOf = (v: string, flag: string) => {
          const [namespaceName, bucketName, ...rest] = v.split("/");
          if (!namespaceName || !bucketName || !rest.length) throw new CliError(`${flag}: expected NAMESPACE/BUCKET/OBJECT`);
          return { datasetType: "OBJECT_STORAGE", namespaceName, bucketName, objectName: rest.join("/") };
        };
        const trainingDataset = objectOf(f.dataset, "--dataset");
        const validationDataset = f.validationData === undefined ? undefined : objectOf(f.validationData, "--validation-data");
        const type = METHODS[f.method.toLowerCase()];
        if (!type) throw new CliError(`--method: expected tfew, lora or vanilla, got '${f.method}'`);
        let extra: Record<string, unknown> = {};
        if (f.config) {
          try {
            extra = JSON.parse(f.config) as Record<string, unknown>;
          } catch (e) {
            throw new CliError(`--config: not JSON (${(e as Error).message})`);
          }
        }
        const trainingConfig = {
          trainingConfigType: type,
          ...extra,
          ...(f.epochs ? { totalTrainingEpochs: parseNumberOrAuto(f.epochs, "--epochs", { int: true, min: 1 }) } : {}),
          ...(f.learningRate ? { learningRate: parseNumberOrAuto(f.learningRate, "--learning-rate", { min: 0 }) } : {}),
          ...(f.batchSize ? { trainingBatchSize: parseNumberOrAuto(f.batchSize, "--batch-size", { int: true, min: 1 }) } : {}),
        };
        const client = connect(f);
        const { body, headers } = await client.json("POST", P, {
          compartmentId: f.compartmentId,
          baseModelId: f.baseModelId,
          ...(f.name ? { displayName: f.name } : {}),
          fineTuneDetails: {
            dedicatedAiClusterId: f.clusterId,
            trainingDataset,
            ...(validationDataset ? { validationDataset } : {}),
            trainingConfig,
          },
        });
        if (!f.wait) return print(body);
        if (!f.json) process.stderr.write(`model ${body.id} (work request ${headers.get("opc-work-request-id")})\n`);
        const done = await watchFineTune(client, String(body.id), Boolean(f.json));
        if (done.lifecycleState === "FAILED" && !f.json) {
          const { body: errs } = await client.json<{ items: { message: string }[] }>(
            "GET",
            `/20231130/workRequests/${headers.get("opc-work-request-id")}/errors`,
          );
          for (const e of errs.items) process.stderr.write(`  ${e.message}\n`);
        }
        print(done);
        if (done.lifecycleState !== "ACTIVE") process.exitCode = 1;
      },
    );
  withConnection(m.command("watch <id>"))
    .description("follow a fine-tune's progress until it ends")
    .action(async (id: string, f: ConnectionFlags) => print(await watchFineTune(connect(f), id, false)));
  withConnection(m.command("list"))
    .description("list models (including BASE models every compartment sees)")
    .option("--compartment-id <id>", "only this compartment")
    .action(async (f: ConnectionFlags & { compartmentId?: string }) =>
      print(await connect(f).all(`${P}${f.compartmentId ? `?compartmentId=${encodeURIComponent(f.compartmentId)}` : ""}`)),
    );
  withConnection(m.command("get <id>"))
    .description("show a model")
    .action(async (id: string, f: ConnectionFlags) => print((await connect(f).json("GET", `${P}/${id}`)).body));
  withConnection(m.command("metrics <id>"))
    .description("a fine-tune's per-step metrics history")
    .action(async (id: string, f: ConnectionFlags) => print((await connect(f).json("GET", `${P}/${id}/metricsHistory`)).body));
  withConnection(m.command("update <id>"))
    .description("rename a model")
    .requiredOption("--name <name>", "display name")
    .action(async (id: string, f: ConnectionFlags & { name: string }) =>
      print((await connect(f).json("PUT", `${P}/${id}`, { displayName: f.name })).body),
    );
  withConnection(m.command("delete <id>"))
    .description("delete a model (refused while endpoints serve it)")
    .action(async (id: string, f: ConnectionFlags) => {
      const client = connect(f);
      await client.json("DELETE", `${P}/${id}`);
      print(await waitFor(client, `${P}/${id}`, ["DELETED", "FAILED"], undefined, 100));
    });
}
