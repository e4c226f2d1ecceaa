// `sprig model pull` (a model from the Hugging Face Hub into the local Hugging Face cache, with progress
// bars), `sprig model import-adapter` (a local PEFT adapter directory → object storage → a CUSTOM model)
// and `sprig model export` (a model → PEFT / merged Hugging Face / GGUF files in object storage → a local
// directory or file); the last two over the API.

import cliProgress from "cli-progress";
import type { Command } from "commander";
import { createReadStream, existsSync, mkdirSync, renameSync, statSync, createWriteStream } from "node:fs";
import { randomBytes } from "node:crypto";
import { basename, dirname, join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { type SprigClient, connect, print, withConnection, type ConnectionFlags } from "../../api/index.ts";
import { HubError, type PullProgress, pullModel } from "../../models/index.ts";
import { CliError } from "../errors.ts";

const P = "/20231130/models";
const ADAPTER_FILES = ["adapter_config.json", "adapter_model.safetensors", "sprig_adapter.json"];
const objectPath = (ns: string, bucket: string, name: string) =>
  `/n/${encodeURIComponent(ns)}/b/${encodeURIComponent(bucket)}/o/${name.split("/").map(encodeURIComponent).join("/")}`;

async function putFile(client: SprigClient, path: string, file: string, compartmentId: string): Promise<void> {
  await client.raw("PUT", path, Readable.toWeb(createReadStream(file)) as unknown as BodyInit, {
    "content-type": "application/octet-stream",
    "content-length": String(statSync(file).size),
    "opc-compartment-id": compartmentId,
  });
}

async function download(client: SprigClient, path: string, to: string): Promise<void> {
  const r = await client.raw("GET", path);
  mkdirSync(dirname(to), { recursive: true });
  const tmp = `${to}.part`;
  await pipeline(Readable.fromWeb(r.body as never), createWriteStream(tmp));
  renameSync(tmp, to);
}

type ImportFlags = ConnectionFlags & { baseModelId: string; compartmentId: string; name?: string; namespace: string; bucket: string };
type ExportFlags = ConnectionFlags & { format: string; type?: string; out: string; namespace: string; bucket: string };

/** One bar per file on a terminal; one line per finished file otherwise (stderr, so --json stays clean). */
function pullBars(json: boolean): { onProgress: (p: PullProgress) => void; stop: () => void } {
  const tty = process.stderr.isTTY && !json;
  const multi = tty
    ? new cliProgress.MultiBar(
        { format: "{file} |{bar}| {percentage}% · {done}/{size} · {phase}", hideCursor: true, stream: process.stderr },
        cliProgress.Presets.shades_classic,
      )
    : null;
  const bars = new Map<string, cliProgress.SingleBar>();
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  return {
    onProgress: (p) => {
      if (multi) {
        let bar = bars.get(p.file);
        if (!bar)
          bars.set(
            p.file,
            (bar = multi.create(p.total, 0, { file: p.file.padEnd(32).slice(0, 32), done: mb(0), size: mb(p.total), phase: p.phase })),
          );
        bar.update(p.done, { done: mb(p.done), phase: p.phase });
      } else if (!json && p.done === p.total && p.phase !== "download")
        process.stderr.write(`${p.file}: ${mb(p.total)} ${p.phase === "cached" ? "(cached)" : "verified"}\n`);
    },
    stop: () => multi?.stop(),
  };
}

export function registerModelIo(m: Command): void {
  m.command("pull <model>")
    .description(
      "download ORG/NAME[@REVISION] from the Hugging Face Hub into the Hugging Face cache ($HF_HOME/hub) and print its snapshot directory",
    )
    .option("--revision <rev>", "branch, tag or commit (default: the @REVISION of the name, else main)")
    .option("--refresh", "resolve the revision again even when the cache has it")
    .option("--json", "print only the result as JSON")
    .action(async (ref: string, f: { revision?: string; refresh?: boolean; json?: boolean }) => {
      const bars = pullBars(Boolean(f.json));
      try {
        const r = await pullModel(ref, {
          ...(f.revision ? { revision: f.revision } : {}),
          refresh: Boolean(f.refresh),
          onProgress: bars.onProgress,
        });
        bars.stop();
        print(r);
      } catch (e) {
        bars.stop();
        if (e instanceof HubError) throw new CliError(e.message);
        throw e;
      }
    });
  withConnection(m.command("import-adapter <dir>"))
    .description(
      "register a PEFT adapter directory (IA3 or LoRA, Sprig's or Python PEFT's) as a CUSTOM model of its base; uploads it through object storage",
    )
    .requiredOption("--base-model-id <id>", "the model the adapter was trained on")
    .requiredOption("--compartment-id <id>", "compartment")
    .option("--name <name>", "display name")
    .option("--namespace <ns>", "object storage namespace for the upload", "sprig")
    .option("--bucket <name>", "bucket for the upload (created by the first upload)", "adapters")
    .action(async (dir: string, f: ImportFlags) => {
      const files = ADAPTER_FILES.filter((n) => existsSync(join(dir, n)));
      if (!files.includes("adapter_config.json"))
        throw new CliError(
          `${dir}: no adapter_config.json (a PEFT adapter directory has adapter_config.json and adapter_model.safetensors)`,
        );
      const client = connect(f);
      const prefix = `${basename(resolve(dir))}-${randomBytes(4).toString("hex")}/`;
      for (const n of files) await putFile(client, objectPath(f.namespace, f.bucket, `${prefix}${n}`), join(dir, n), f.compartmentId);
      const { body } = await client.json("POST", P, {
        compartmentId: f.compartmentId,
        baseModelId: f.baseModelId,
        ...(f.name ? { displayName: f.name } : {}),
        adapterSource: { sourceType: "OBJECT_STORAGE", namespaceName: f.namespace, bucketName: f.bucket, prefix },
      });
      print(body);
    });
  withConnection(m.command("export <id>"))
    .description("export a model: its adapter as PEFT, merged into a Hugging Face directory, or as GGUF for llama.cpp")
    .requiredOption("--format <f>", "peft, hf or gguf")
    .option("--type <t>", "GGUF tensor type: f32, f16 or q8_0", "f16")
    .requiredOption("--out <path>", "directory to write (peft, hf) or .gguf file (gguf)")
    .option("--namespace <ns>", "object storage namespace the server writes the export to", "sprig")
    .option("--bucket <name>", "bucket the server writes the export to", "exports")
    .action(async (id: string, f: ExportFlags) => {
      const format = f.format.toUpperCase();
      if (!["PEFT", "HF", "GGUF"].includes(format)) throw new CliError(`--format: expected peft, hf or gguf, got '${f.format}'`);
      const type = (f.type ?? "f16").toUpperCase();
      if (!["F32", "F16", "Q8_0"].includes(type)) throw new CliError(`--type: expected f32, f16 or q8_0, got '${f.type}'`);
      const client = connect(f);
      const { body } = await client.json<{ objects: { name: string; size: number }[]; prefix: string }>(
        "POST",
        `${P}/${encodeURIComponent(id)}/actions/export`,
        {
          format,
          ...(format === "GGUF" ? { ggufType: type } : {}),
          namespaceName: f.namespace,
          bucketName: f.bucket,
        },
      );
      const out = resolve(f.out);
      const written: string[] = [];
      for (const o of body.objects) {
        const to = format === "GGUF" ? out : join(out, o.name.slice(body.prefix.length));
        await download(client, objectPath(f.namespace, f.bucket, o.name), to);
        written.push(to);
      }
      print({ modelId: id, format, ...(format === "GGUF" ? { ggufType: type } : {}), files: written });
    });
}
