// Atomic file writes: data goes to a temporary file beside the target, is fsynced, then renamed over
// it, so readers see the old file or the new one, never half of one. Directories commit the same way.

import { createHash, randomBytes } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";

const tmpName = (target: string): string => join(dirname(target), `.tmp-${randomBytes(6).toString("hex")}-${target.split("/").pop()}`);

export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  mkdirSync(dirname(target), { recursive: true });
  const tmp = tmpName(target);
  const fh = await open(tmp, "w");
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, target);
}

export class TooLargeError extends Error {
  override name = "TooLargeError";
}

/**
 * Stream into `target` atomically, at most `maxBytes`; returns the size and base64 MD5 (OCI's
 * `content-md5`). On any failure the temporary file is removed and `target` is untouched.
 */
export async function writeStreamAtomic(target: string, source: Readable, maxBytes: number): Promise<{ size: number; md5: string }> {
  mkdirSync(dirname(target), { recursive: true });
  const tmp = tmpName(target);
  const md5 = createHash("md5");
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (size > maxBytes) return cb(new TooLargeError(`the object exceeds the limit of ${maxBytes} bytes`));
      md5.update(chunk);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(source, meter, createWriteStream(tmp));
    const fh = await open(tmp, "r+");
    await fh.sync();
    await fh.close();
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return { size, md5: md5.digest("base64") };
}

/** A fresh temporary directory beside `target`, to be filled then committed with `commitDir`. */
export function tempDirFor(target: string): string {
  const dir = tmpName(target);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Move a finished temporary directory into place (replacing an older one). */
export function commitDir(tmp: string, target: string): void {
  if (existsSync(target)) {
    const old = tmpName(target);
    renameSync(target, old);
    renameSync(tmp, target);
    rmSync(old, { recursive: true, force: true });
  } else {
    mkdirSync(dirname(target), { recursive: true });
    renameSync(tmp, target);
  }
}
