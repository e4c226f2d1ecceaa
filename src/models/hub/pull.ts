// `pullModel`: a model from the Hugging Face Hub (or a mirror) into the shared Hugging Face cache, as a
// snapshot directory Sprig loads like any other. The revision is resolved to a commit; config.json comes
// first and a model Sprig cannot run is refused before any weight is fetched; every blob is verified
// (size, then sha256 for LFS files or git's sha1 for small ones) and a corrupt one fetched again; broken
// downloads resume with range requests. A cached snapshot that has everything is used without a request.

import { createHash } from "node:crypto";
import { createReadStream, existsSync, readFileSync } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parseHfConfig } from "../io/hf-config.ts";
import { ModelIoError } from "../io/errors.ts";
import { RepoCache, hubCacheDir } from "./cache.ts";
import { HubClient, HubError, type RemoteFile } from "./client.ts";

/** Files Sprig reads beside the weights (tokenizer, chat template, generation settings). */
const SIDE_FILES = ["generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja", "chat_template.json"];
const INDEX = "model.safetensors.index.json";
const ATTEMPTS = 5;

export interface PullProgress {
  file: string;
  /** bytes of this file on disk so far */
  done: number;
  total: number;
  phase: "download" | "verify" | "cached";
}

export interface PullOptions {
  /** branch, tag or commit; default "main" */
  revision?: string;
  /** default: HF_TOKEN */
  token?: string | null;
  /** default: HF_ENDPOINT or https://huggingface.co */
  endpoint?: string;
  /** default: hubCacheDir() */
  cacheDir?: string;
  /** never make a request (default: HF_HUB_OFFLINE=1) */
  offline?: boolean;
  /** resolve the revision again even when the cache has a complete snapshot for it */
  refresh?: boolean;
  onProgress?: (p: PullProgress) => void;
  /** how long to wait between retries of a broken download (ms; default 500) */
  retryDelayMs?: number;
  /** called once config.json passed the check and the files to fetch are known, before any weight */
  beforeWeights?: (plan: { commit: string; files: string[] }) => void;
}

export interface PullResult {
  repoId: string;
  revision: string;
  commit: string;
  /** the snapshot directory: a Hugging Face model directory */
  dir: string;
  files: string[];
  downloadedBytes: number;
  /** true when nothing was asked of the Hub */
  fromCache: boolean;
}

const truthy = (v: string | undefined) => v !== undefined && ["1", "true", "yes", "on"].includes(v.toLowerCase());

/** "ORG/NAME" or "ORG/NAME@REVISION". */
export function parseModelRef(ref: string): { repoId: string; revision: string | undefined } {
  const at = ref.indexOf("@");
  const repoId = at < 0 ? ref : ref.slice(0, at);
  const revision = at < 0 ? undefined : ref.slice(at + 1);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/.test(repoId)) throw new HubError("not_found", `${ref}: expected ORG/NAME or ORG/NAME@REVISION`);
  if (revision === "") throw new HubError("not_found", `${ref}: empty revision after @`);
  return { repoId, revision };
}

/** Refuse what Sprig cannot run, with the reason (before any weight is downloaded). */
function checkConfig(path: string, repoId: string): void {
  try {
    parseHfConfig(JSON.parse(readFileSync(path, "utf8")), `${repoId}/config.json`);
  } catch (e) {
    throw new HubError("unsupported", `${repoId}: Sprig cannot run this model: ${e instanceof ModelIoError || e instanceof SyntaxError ? e.message : String(e)}`);
  }
}

async function digest(path: string, f: RemoteFile, onBytes: (n: number) => void): Promise<string> {
  const h = createHash(f.lfs ? "sha256" : "sha1");
  if (!f.lfs) h.update(`blob ${f.size}\0`);
  for await (const c of createReadStream(path) as AsyncIterable<Buffer>) {
    h.update(c);
    onBytes(c.length);
  }
  return h.digest("hex");
}

export async function pullModel(repoIdOrRef: string, o: PullOptions = {}): Promise<PullResult> {
  const ref = parseModelRef(repoIdOrRef);
  const repoId = ref.repoId;
  const revision = o.revision ?? ref.revision ?? "main";
  const cache = new RepoCache(o.cacheDir ?? hubCacheDir(), repoId);
  const offline = o.offline ?? truthy(process.env.HF_HUB_OFFLINE);

  const known = cache.commitOf(revision);
  if (known && cache.complete(known) && (!o.refresh || offline)) {
    checkConfig(join(cache.snapshot(known), "config.json"), repoId);
    o.beforeWeights?.({ commit: known, files: [] });
    return { repoId, revision, commit: known, dir: cache.snapshot(known), files: [], downloadedBytes: 0, fromCache: true };
  }
  if (offline)
    throw new HubError("offline", `${repoId}@${revision}: HF_HUB_OFFLINE is set and the cache (${cache.root}) has no complete snapshot of it${known ? ` (commit ${known} lacks files)` : ""}`);

  const endpoint = (o.endpoint ?? process.env.HF_ENDPOINT ?? "https://huggingface.co").replace(/\/+$/, "");
  const client = new HubClient(repoId, { endpoint, token: o.token ?? process.env.HF_TOKEN ?? null });
  const { commit, files: remote } = await client.revision(revision);
  if (!remote.includes("config.json")) throw new HubError("unsupported", `${repoId}@${revision}: no config.json: not a Transformers model`);

  let downloadedBytes = 0;
  const fetchFile = async (file: string): Promise<void> => {
    const f = await client.head(commit, file);
    const blob = cache.blob(f.etag);
    const report = (done: number, phase: PullProgress["phase"]) => o.onProgress?.({ file, done, total: f.size, phase });
    await mkdir(dirname(blob), { recursive: true });
    if (existsSync(blob)) {
      // a blob Python or an earlier pull left: used if it is whole and right, else fetched again
      let seen = 0;
      if ((await stat(blob)).size === f.size && (await digest(blob, f, (n) => report((seen += n), "verify"))) === f.etag) {
        report(f.size, "cached");
        return void (await cache.link(commit, file, f.etag));
      }
      await rm(blob, { force: true });
    }
    const partial = `${blob}.incomplete`;
    let corrupt = 0;
    for (let attempt = 1; ; attempt++) {
      let have = await stat(partial).then((s) => s.size, () => 0);
      try {
        downloadedBytes += await client.fetchRest(f, partial, (n) => report((have += n), "download"), `${repoId}/${file}`);
      } catch (e) {
        if (!(e instanceof HubError) || e.kind !== "network" || attempt >= ATTEMPTS) throw e;
        await new Promise((r) => setTimeout(r, o.retryDelayMs ?? 500));
        continue; // resume from what arrived
      }
      const size = (await stat(partial)).size;
      let seen = 0;
      if (size === f.size && (await digest(partial, f, (n) => report((seen += n), "verify"))) === f.etag) break;
      await rm(partial, { force: true });
      if (++corrupt >= 2) throw new HubError("integrity", `${repoId}/${file}: the download does not match its ${f.lfs ? "sha256" : "git sha1"} ${f.etag} (twice)`);
    }
    await rename(partial, blob);
    await cache.link(commit, file, f.etag);
  };

  // config.json first: an architecture Sprig cannot run is refused before the weights
  await fetchFile("config.json");
  checkConfig(join(cache.snapshot(commit), "config.json"), repoId);
  let weights: string[];
  if (remote.includes(INDEX)) {
    await fetchFile(INDEX);
    const map = (JSON.parse(readFileSync(join(cache.snapshot(commit), INDEX), "utf8")) as { weight_map?: Record<string, string> }).weight_map ?? {};
    weights = [...new Set(Object.values(map))].sort();
    const absent = weights.filter((w) => !remote.includes(w));
    if (weights.length === 0 || absent.length) throw new HubError("unsupported", `${repoId}@${revision}: ${INDEX} names shards the repository lacks: ${absent.join(", ") || "(none listed)"}`);
  } else if (remote.includes("model.safetensors")) weights = ["model.safetensors"];
  else {
    const other = remote.filter((f) => /\.(bin|pt|pth|gguf)$/.test(f));
    throw new HubError("unsupported", `${repoId}@${revision}: no safetensors weights${other.length ? ` (only ${other.join(", ")}; Sprig reads .safetensors)` : ""}`);
  }
  const side = SIDE_FILES.filter((f) => remote.includes(f));
  o.beforeWeights?.({ commit, files: [...side, ...weights] });
  for (const f of [...side, ...weights]) await fetchFile(f);
  await cache.writeRef(revision, commit);
  return { repoId, revision, commit, dir: cache.snapshot(commit), files: ["config.json", ...(remote.includes(INDEX) ? [INDEX] : []), ...side, ...weights], downloadedBytes, fromCache: false };
}

export { HubError } from "./client.ts";
export { hubCacheDir } from "./cache.ts";
