// Object storage with OCI Object Storage paths, for training data: PUT/GET/HEAD/DELETE
// /n/{namespace}/b/{bucket}/o/{object} and GET /n/{namespace}/b/{bucket}/o (list). A bucket is created
// by its first PUT and belongs to one compartment (`opc-compartment-id` header, default the key's first).

import type { FastifyInstance } from "fastify";
import type { Readable } from "node:stream";
import { z } from "zod";
import { type ControlPlane, ServiceError, type Scope, notFound } from "../control/index.ts";
import { TooLargeError } from "../store/index.ts";
import { route } from "./routes.ts";

const NAME = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z0-9._-]+$/, "letters, digits, '.', '_' and '-' only");
const ObjectPath = z.strictObject({ namespace: NAME, bucket: NAME, "*": z.string().min(1, "give an object name").max(1024) });
const BucketPath = z.strictObject({ namespace: NAME, bucket: NAME });
const ObjectSummary = z
  .object({ name: z.string(), size: z.number(), md5: z.string(), etag: z.string(), timeModified: z.string() })
  .meta({ id: "ObjectSummary" });

export function objectStorageRoutes(app: FastifyInstance, cp: ControlPlane): void {
  const objects = cp.store.objects;
  const bucketFor = async (scope: Scope, ns: string, b: string) => {
    const bucket = await objects.bucket(ns, b);
    if (!bucket || !scope.compartments.includes(bucket.compartmentId)) throw notFound("bucket", `/n/${ns}/b/${b}`);
    return bucket;
  };
  const found = async (scope: Scope, p: z.infer<typeof ObjectPath>) => {
    await bucketFor(scope, p.namespace, p.bucket);
    const meta = await objects.head(p.namespace, p.bucket, p["*"]);
    if (!meta) throw notFound("object", `/n/${p.namespace}/b/${p.bucket}/o/${p["*"]}`);
    return meta;
  };
  const headers = (m: { size: number; md5: string; etag: string; contentType: string; timeModified: string }) => ({
    "content-type": m.contentType,
    "content-length": String(m.size),
    "content-md5": m.md5,
    etag: m.etag,
    "last-modified": new Date(m.timeModified).toUTCString(),
  });

  // the object routes take the body as a raw stream, whatever its type, so they live in their own scope
  void app.register(async (s) => {
    s.removeAllContentTypeParsers();
    s.addContentTypeParser("*", (_req, payload, done) => done(null, payload));

    route(
      s,
      {
        method: "PUT",
        url: "/n/:namespace/b/:bucket/o/*",
        tag: "ObjectStorage",
        summary: "Upload an object (training data: JSONL)",
        params: ObjectPath,
        headers: ["opc-compartment-id", "content-type"],
      },
      async ({ scope, params, req, reply }) => {
        const wanted = req.headers["opc-compartment-id"];
        const compartment = typeof wanted === "string" ? wanted : scope.compartments[0]!;
        if (!scope.compartments.includes(compartment)) throw notFound("compartment", compartment);
        const existing = await objects.bucket(params.namespace, params.bucket);
        if (existing) await bucketFor(scope, params.namespace, params.bucket);
        else await objects.createBucket(params.namespace, params.bucket, compartment);
        try {
          const body = (req.body as Readable | undefined) ?? (req.raw as Readable);
          const meta = await objects.put(params.namespace, params.bucket, params["*"], body, {
            contentType: req.headers["content-type"] ?? "application/octet-stream",
            maxBytes: cp.config.maxObjectBytes,
          });
          reply.header("etag", meta.etag).header("opc-content-md5", meta.md5).code(200).send();
        } catch (e) {
          if (e instanceof TooLargeError) throw new ServiceError(413, "PayloadTooLarge", `${e.message} (maxObjectBytes)`);
          throw e;
        }
      },
    );
    route(
      s,
      { method: "GET", url: "/n/:namespace/b/:bucket/o/*", tag: "ObjectStorage", summary: "Download an object", params: ObjectPath },
      async ({ scope, params, reply }) => {
        const meta = await found(scope, params);
        reply.headers(headers(meta));
        return reply.send((await objects.read(params.namespace, params.bucket, params["*"])) as Readable);
      },
    );
    route(
      s,
      { method: "HEAD", url: "/n/:namespace/b/:bucket/o/*", tag: "ObjectStorage", summary: "An object's metadata", params: ObjectPath },
      async ({ scope, params, reply }) => {
        reply.headers(headers(await found(scope, params)));
        return reply.send();
      },
    );
    route(
      s,
      {
        method: "DELETE",
        url: "/n/:namespace/b/:bucket/o/*",
        tag: "ObjectStorage",
        summary: "Delete an object",
        params: ObjectPath,
        status: 204,
      },
      async ({ scope, params }) => {
        await found(scope, params);
        await objects.delete(params.namespace, params.bucket, params["*"]);
      },
    );
    route(
      s,
      {
        method: "GET",
        url: "/n/:namespace/b/:bucket/o",
        tag: "ObjectStorage",
        summary: "List a bucket's objects",
        params: BucketPath,
        query: z.strictObject({ prefix: z.string().max(1024).optional() }),
        response: z.object({ objects: z.array(ObjectSummary) }),
      },
      async ({ scope, params, query }) => {
        await bucketFor(scope, params.namespace, params.bucket);
        return {
          objects: (await objects.list(params.namespace, params.bucket, query.prefix)).map(({ name, size, md5, etag, timeModified }) => ({
            name,
            size,
            md5,
            etag,
            timeModified,
          })),
        };
      },
    );
  });
}
