// The Hugging Face cache layout, shared with Python's huggingface_hub: $HF_HUB_CACHE (default
// $HF_HOME/hub, $HF_HOME default ~/.cache/huggingface) / models--ORG--NAME / {blobs/ETAG,
// snapshots/COMMIT/FILE → ../../blobs/ETAG, refs/REVISION = COMMIT}. Downloads in progress are
// blobs/ETAG.incomplete, so an interrupted pull resumes where it stopped (Python does the same).

import { existsSync, readFileSync } from "node:fs";
import { mkdir, readlink, rename, rm, symlink, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join, relative } from "node:path";

export const COMMIT_RE = /^[0-9a-f]{40}$/;

/** The hub cache directory the environment names. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  const home = env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "huggingface");
  return join(home, "hub");
}

export class RepoCache {
  readonly root: string;

  constructor(cacheDir: string, readonly repoId: string) {
    this.root = join(cacheDir, `models--${repoId.replace("/", "--")}`);
  }

  blob(etag: string): string {
    return join(this.root, "blobs", etag);
  }

  snapshot(commit: string): string {
    return join(this.root, "snapshots", commit);
  }

  /** The commit a branch or tag last resolved to here (a commit resolves to itself), or null. */
  commitOf(revision: string): string | null {
    if (COMMIT_RE.test(revision)) return revision;
    const ref = join(this.root, "refs", revision);
    if (!existsSync(ref)) return null;
    const c = readFileSync(ref, "utf8").trim();
    return COMMIT_RE.test(c) ? c : null;
  }

  async writeRef(revision: string, commit: string): Promise<void> {
    if (revision === commit) return;
    const ref = join(this.root, "refs", revision);
    await mkdir(dirname(ref), { recursive: true });
    await writeFile(`${ref}.tmp`, commit);
    await rename(`${ref}.tmp`, ref);
  }

  /** Point snapshots/COMMIT/FILE at its blob with a relative symlink (as huggingface_hub does). */
  async link(commit: string, file: string, etag: string): Promise<void> {
    const at = join(this.snapshot(commit), file);
    await mkdir(dirname(at), { recursive: true });
    const target = relative(dirname(at), this.blob(etag));
    try {
      if ((await readlink(at)) === target) return;
    } catch {
      // not there yet (or not a link)
    }
    await rm(at, { force: true });
    await symlink(target, at);
  }

  /**
   * A snapshot that has what Sprig needs — config.json and every safetensors file its index lists (or
   * model.safetensors) — can be used without asking the Hub anything.
   */
  complete(commit: string): boolean {
    const dir = this.snapshot(commit);
    if (!existsSync(join(dir, "config.json"))) return false;
    const index = join(dir, "model.safetensors.index.json");
    if (existsSync(index)) {
      try {
        const map = (JSON.parse(readFileSync(index, "utf8")) as { weight_map?: Record<string, string> }).weight_map ?? {};
        const shards = new Set(Object.values(map));
        return shards.size > 0 && [...shards].every((s) => existsSync(join(dir, s)));
      } catch {
        return false;
      }
    }
    return existsSync(join(dir, "model.safetensors"));
  }
}
