// `sprig data put|get|list|delete`: training data in Sprig's object storage (OCI Object Storage paths).

import type { Command } from "commander";
import { createReadStream, statSync } from "node:fs";
import { basename } from "node:path";
import { Readable } from "node:stream";
import { connect, print, withConnection, type ConnectionFlags } from "../../api/index.ts";
import { CliError } from "../errors.ts";

type Where = ConnectionFlags & { namespace: string; bucket: string };
const path = (f: Where, name: string) =>
  `/n/${encodeURIComponent(f.namespace)}/b/${encodeURIComponent(f.bucket)}/o/${name.split("/").map(encodeURIComponent).join("/")}`;

export function registerData(program: Command): void {
  const d = program.command("data").description("training data in object storage");
  const where = <T extends Command>(c: T) =>
    withConnection(c)
      .requiredOption("--namespace <ns>", "namespace")
      .requiredOption("--bucket <name>", "bucket (created by the first put)");
  where(d.command("put <file>"))
    .description("upload a JSONL file (it is validated when a fine-tune uses it)")
    .option("--name <object>", "object name (default: the file's name)")
    .option("--compartment-id <id>", "compartment of a new bucket (default: the key's first)")
    .action(async (file: string, f: Where & { name?: string; compartmentId?: string }) => {
      let size: number;
      try {
        size = statSync(file).size;
      } catch {
        throw new CliError(`${file}: no such file`);
      }
      const name = f.name ?? basename(file);
      const r = await connect(f).raw("PUT", path(f, name), Readable.toWeb(createReadStream(file)) as unknown as BodyInit, {
        "content-type": "application/jsonl",
        "content-length": String(size),
        ...(f.compartmentId ? { "opc-compartment-id": f.compartmentId } : {}),
      });
      print({ namespaceName: f.namespace, bucketName: f.bucket, objectName: name, size, etag: r.headers.get("etag") });
    });
  where(d.command("get <object>"))
    .description("print an object to stdout")
    .action(async (name: string, f: Where) => {
      const r = await connect(f).raw("GET", path(f, name));
      for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) process.stdout.write(chunk);
    });
  where(d.command("list"))
    .description("list a bucket's objects")
    .action(async (f: Where) =>
      print((await connect(f).json("GET", `/n/${encodeURIComponent(f.namespace)}/b/${encodeURIComponent(f.bucket)}/o`)).body),
    );
  where(d.command("delete <object>"))
    .description("delete an object")
    .action(async (name: string, f: Where) => {
      await connect(f).raw("DELETE", path(f, name));
      print({ deleted: name });
    });
}
