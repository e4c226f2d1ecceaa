// Object storage: buckets (owned by a compartment, created by the first PUT) and objects, whose bytes
// are files under `<data-dir>/objects` named by a random id and whose metadata rows live in the database.

import { randomBytes } from "node:crypto";
import { createReadStream, existsSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import type { Db } from "./db.ts";
import { writeStreamAtomic } from "./files.ts";

export interface ObjectMeta {
  namespace: string;
  bucket: string;
  name: string;
  size: number;
  /** base64 MD5 of the bytes */
  md5: string;
  etag: string;
  contentType: string;
  timeModified: string;
}

export interface Bucket {
  namespace: string;
  name: string;
  compartmentId: string;
}

export class ObjectRepo {
  constructor(
    private readonly db: Db,
    private readonly dir: string,
  ) {}

  async bucket(namespace: string, name: string): Promise<Bucket | null> {
    const r = await this.db.get<{ namespace: string; name: string; compartment_id: string }>(
      "SELECT namespace, name, compartment_id FROM buckets WHERE namespace = ? AND name = ?",
      [namespace, name],
    );
    return r ? { namespace: r.namespace, name: r.name, compartmentId: r.compartment_id } : null;
  }

  async createBucket(namespace: string, name: string, compartmentId: string): Promise<Bucket> {
    await this.db.run("INSERT INTO buckets (namespace, name, compartment_id, time_created) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", [
      namespace,
      name,
      compartmentId,
      new Date().toISOString(),
    ]);
    return (await this.bucket(namespace, name))!;
  }

  async head(namespace: string, bucket: string, name: string): Promise<ObjectMeta | null> {
    const r = await this.db.get<ObjectRow>("SELECT * FROM objects WHERE namespace = ? AND bucket = ? AND name = ?", [
      namespace,
      bucket,
      name,
    ]);
    return r ? toMeta(r) : null;
  }

  /** Absolute path of the object's bytes (read-only use: a later PUT writes a new file). */
  async path(namespace: string, bucket: string, name: string): Promise<string | null> {
    const r = await this.db.get<{ file: string }>("SELECT file FROM objects WHERE namespace = ? AND bucket = ? AND name = ?", [
      namespace,
      bucket,
      name,
    ]);
    return r ? join(this.dir, r.file) : null;
  }

  async read(namespace: string, bucket: string, name: string): Promise<Readable | null> {
    const p = await this.path(namespace, bucket, name);
    return p ? createReadStream(p) : null;
  }

  /** Store the bytes under a new file, then swap the metadata row; the previous file is removed after. */
  async put(
    namespace: string,
    bucket: string,
    name: string,
    body: Readable,
    o: { contentType: string; maxBytes: number },
  ): Promise<ObjectMeta> {
    const file = randomBytes(16).toString("hex");
    const { size, md5 } = await writeStreamAtomic(join(this.dir, file), body, o.maxBytes);
    const meta: ObjectMeta = {
      namespace,
      bucket,
      name,
      size,
      md5,
      etag: randomBytes(12).toString("hex"),
      contentType: o.contentType,
      timeModified: new Date().toISOString(),
    };
    // the old file is read and the row swapped in one transaction: two racing PUTs each remove the file they replaced
    const old = await this.db.tx(async () => {
      const prev = await this.path(namespace, bucket, name);
      await this.db.run(
        `INSERT INTO objects (namespace, bucket, name, size, md5, etag, content_type, file, time_modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (namespace, bucket, name) DO UPDATE SET size = excluded.size, md5 = excluded.md5, etag = excluded.etag,
           content_type = excluded.content_type, file = excluded.file, time_modified = excluded.time_modified`,
        [namespace, bucket, name, size, md5, meta.etag, o.contentType, file, meta.timeModified],
      );
      return prev;
    });
    if (old && existsSync(old)) unlinkSync(old);
    return meta;
  }

  async delete(namespace: string, bucket: string, name: string): Promise<boolean> {
    const p = await this.path(namespace, bucket, name);
    if (!p) return false;
    await this.db.run("DELETE FROM objects WHERE namespace = ? AND bucket = ? AND name = ?", [namespace, bucket, name]);
    if (existsSync(p)) unlinkSync(p);
    return true;
  }

  async list(namespace: string, bucket: string, prefix = ""): Promise<ObjectMeta[]> {
    const rows = await this.db.all<ObjectRow>(
      "SELECT * FROM objects WHERE namespace = ? AND bucket = ? AND substr(name, 1, ?) = ? ORDER BY name",
      [namespace, bucket, prefix.length, prefix],
    );
    return rows.map(toMeta);
  }
}

interface ObjectRow {
  namespace: string;
  bucket: string;
  name: string;
  size: number;
  md5: string;
  etag: string;
  content_type: string;
  time_modified: string;
}

const toMeta = (r: ObjectRow): ObjectMeta => ({
  namespace: r.namespace,
  bucket: r.bucket,
  name: r.name,
  size: r.size,
  md5: r.md5,
  etag: r.etag,
  contentType: r.content_type,
  timeModified: r.time_modified,
});
