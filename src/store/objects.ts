// Object storage: buckets (owned by a compartment, created by the first PUT) and objects, whose bytes
// are files under `<data-dir>/objects` named by a random id and whose metadata rows live in SQLite.

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

  bucket(namespace: string, name: string): Bucket | null {
    const r = this.db
      .prepare("SELECT namespace, name, compartment_id FROM buckets WHERE namespace = ? AND name = ?")
      .get(namespace, name) as { namespace: string; name: string; compartment_id: string } | undefined;
    return r ? { namespace: r.namespace, name: r.name, compartmentId: r.compartment_id } : null;
  }

  createBucket(namespace: string, name: string, compartmentId: string): Bucket {
    this.db
      .prepare("INSERT OR IGNORE INTO buckets (namespace, name, compartment_id, time_created) VALUES (?, ?, ?, ?)")
      .run(namespace, name, compartmentId, new Date().toISOString());
    return this.bucket(namespace, name)!;
  }

  head(namespace: string, bucket: string, name: string): ObjectMeta | null {
    const r = this.db.prepare("SELECT * FROM objects WHERE namespace = ? AND bucket = ? AND name = ?").get(namespace, bucket, name) as
      ObjectRow | undefined;
    return r ? toMeta(r) : null;
  }

  /** Absolute path of the object's bytes (read-only use: a later PUT writes a new file). */
  path(namespace: string, bucket: string, name: string): string | null {
    const r = this.db.prepare("SELECT file FROM objects WHERE namespace = ? AND bucket = ? AND name = ?").get(namespace, bucket, name) as
      { file: string } | undefined;
    return r ? join(this.dir, r.file) : null;
  }

  read(namespace: string, bucket: string, name: string): Readable | null {
    const p = this.path(namespace, bucket, name);
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
    const old = this.path(namespace, bucket, name);
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
    this.db
      .prepare(
        `INSERT INTO objects (namespace, bucket, name, size, md5, etag, content_type, file, time_modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (namespace, bucket, name) DO UPDATE SET size = excluded.size, md5 = excluded.md5, etag = excluded.etag,
           content_type = excluded.content_type, file = excluded.file, time_modified = excluded.time_modified`,
      )
      .run(namespace, bucket, name, size, md5, meta.etag, o.contentType, file, meta.timeModified);
    if (old && existsSync(old)) unlinkSync(old);
    return meta;
  }

  delete(namespace: string, bucket: string, name: string): boolean {
    const p = this.path(namespace, bucket, name);
    if (!p) return false;
    this.db.prepare("DELETE FROM objects WHERE namespace = ? AND bucket = ? AND name = ?").run(namespace, bucket, name);
    if (existsSync(p)) unlinkSync(p);
    return true;
  }

  list(namespace: string, bucket: string, prefix = ""): ObjectMeta[] {
    const rows = this.db
      .prepare("SELECT * FROM objects WHERE namespace = ? AND bucket = ? AND substr(name, 1, ?) = ? ORDER BY name")
      .all(namespace, bucket, prefix.length, prefix) as ObjectRow[];
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
