// The Hugging Face Hub's file protocol, as huggingface_hub speaks it: GET /api/models/REPO/revision/REV
// (the commit and file list), HEAD /REPO/resolve/COMMIT/FILE without following redirects (the blob's
// ETag — X-Linked-Etag, the LFS sha256, for large files — its size, and where to fetch it), then a GET
// with `Range: bytes=N-` to resume a partial blob. The token goes only to the Hub's own origin.

import { createWriteStream } from "node:fs";
import { stat, truncate } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { SprigError } from "../../errors/index.ts";

/** What went wrong, so callers can map it (the API: 400/404/503) without parsing messages. */
export type HubErrorKind = "auth" | "not_found" | "unsupported" | "offline" | "network" | "integrity";

/** The HTTP-like status of each kind: the caller's mistake (400), the Hub unreachable in offline mode (409), the Hub failing (503). */
const HUB_STATUS: Record<HubErrorKind, number> = {
  auth: 400,
  not_found: 400,
  unsupported: 400,
  offline: 409,
  network: 503,
  integrity: 503,
};

export class HubError extends SprigError {
  override name = "HubError";
  constructor(
    readonly kind: HubErrorKind,
    message: string,
  ) {
    super(HUB_STATUS[kind], kind, message);
  }
}

export interface HubClientOptions {
  /** e.g. https://huggingface.co, or a mirror (HF_ENDPOINT) */
  endpoint: string;
  token: string | null;
}

export interface RemoteFile {
  /** the blob's name in the cache: the LFS sha256 or the git blob sha1 */
  etag: string;
  size: number;
  /** true when etag is the content's sha256 (LFS); else it is git's sha1 of "blob SIZE\0" + content */
  lfs: boolean;
  /** where the bytes are (the Hub, or the CDN it redirects to) */
  url: string;
}

const normalizeEtag = (e: string) => e.replace(/^W\//, "").replace(/^"|"$/g, "");
const encodePath = (p: string) => p.split("/").map(encodeURIComponent).join("/");

export class HubClient {
  private readonly origin: string;

  constructor(
    readonly repoId: string,
    private readonly o: HubClientOptions,
  ) {
    this.origin = new URL(o.endpoint).origin;
  }

  private headers(url: string, extra: Record<string, string> = {}): Record<string, string> {
    const own = new URL(url).origin === this.origin;
    return { "user-agent": "sprig", ...(own && this.o.token ? { authorization: `Bearer ${this.o.token}` } : {}), ...extra };
  }

  private async request(url: string, init: RequestInit & { headers?: Record<string, string> }, what: string): Promise<Response> {
    let r: Response;
    try {
      r = await fetch(url, { ...init, headers: this.headers(url, init.headers) });
    } catch (e) {
      throw new HubError("network", `${what}: ${this.o.endpoint} did not answer (${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message})`);
    }
    if (r.status === 401 || r.status === 403) {
      const why = this.o.token
        ? "the token cannot read it (a gated model: accept its conditions on the Hub with this account; a private one: the token needs read access)"
        : "it is gated or private: give a Hugging Face token (HF_TOKEN, or the request's accessToken)";
      throw new HubError("auth", `${what}: ${r.status} from ${this.o.endpoint}: ${why}`);
    }
    if (r.status === 404) throw new HubError("not_found", `${what}: not found on ${this.o.endpoint}`);
    if (r.status >= 500) throw new HubError("network", `${what}: ${this.o.endpoint} answered ${r.status}`);
    return r;
  }

  /** The commit a revision names and the repository's files at it. */
  async revision(revision: string): Promise<{ commit: string; files: string[] }> {
    const url = `${this.o.endpoint}/api/models/${this.repoId}/revision/${encodeURIComponent(revision)}`;
    const r = await this.request(url, { method: "GET" }, `model ${this.repoId}@${revision}`);
    if (!r.ok) throw new HubError("network", `model ${this.repoId}@${revision}: ${this.o.endpoint} answered ${r.status}`);
    const body = (await r.json()) as { sha?: unknown; siblings?: { rfilename?: unknown }[] };
    if (typeof body.sha !== "string" || !/^[0-9a-f]{40}$/.test(body.sha) || !Array.isArray(body.siblings))
      throw new HubError("network", `model ${this.repoId}@${revision}: ${this.o.endpoint} sent no commit and file list`);
    return { commit: body.sha, files: body.siblings.map((s) => s.rfilename).filter((f): f is string => typeof f === "string") };
  }

  /** HEAD the file at a commit: its ETag, size and download location (redirects read, not followed). */
  async head(commit: string, file: string): Promise<RemoteFile> {
    let url = `${this.o.endpoint}/${this.repoId}/resolve/${commit}/${encodePath(file)}`;
    for (let hops = 0; hops < 5; hops++) {
      const r = await this.request(url, { method: "HEAD", redirect: "manual", headers: { "accept-encoding": "identity" } }, `${this.repoId}/${file}`);
      const linked = r.headers.get("x-linked-etag");
      const etag = linked ?? r.headers.get("etag");
      const location = r.headers.get("location");
      if (r.status >= 300 && r.status < 400 && location && !etag) {
        url = new URL(location, url).toString(); // e.g. a renamed repository: ask again there
        continue;
      }
      if (!etag) throw new HubError("network", `${this.repoId}/${file}: the Hub sent no ETag`);
      const size = Number(r.headers.get("x-linked-size") ?? r.headers.get("content-length"));
      if (!Number.isSafeInteger(size) || size < 0) throw new HubError("network", `${this.repoId}/${file}: the Hub sent no size`);
      return { etag: normalizeEtag(etag), size, lfs: linked !== null, url: location ? new URL(location, url).toString() : url };
    }
    throw new HubError("network", `${this.repoId}/${file}: too many redirects`);
  }

  /**
   * Append the rest of `f` to `partial` (resuming from its current size with a Range request); returns
   * the bytes received. A server that ignores the range restarts the file from byte 0.
   */
  async fetchRest(f: RemoteFile, partial: string, onBytes: (n: number) => void, what: string): Promise<number> {
    const have = await stat(partial).then((s) => s.size, () => 0);
    if (have >= f.size) {
      if (have > f.size) await truncate(partial, 0);
      else return 0;
    }
    const start = have >= f.size ? 0 : have;
    const r = await this.request(f.url, { method: "GET", headers: start > 0 ? { range: `bytes=${start}-` } : {} }, what);
    if (r.status === 416) {
      await truncate(partial, 0);
      throw new HubError("network", `${what}: the server refused to resume at byte ${start}`);
    }
    if (!r.ok || !r.body) throw new HubError("network", `${what}: ${r.status} from ${new URL(f.url).origin}`);
    const resumed = r.status === 206 && start > 0;
    if (!resumed && start > 0) await truncate(partial, 0);
    let got = 0;
    const body = Readable.fromWeb(r.body as never);
    body.on("data", (c: Buffer) => {
      got += c.length;
      onBytes(c.length);
    });
    try {
      await pipeline(body, createWriteStream(partial, { flags: resumed ? "a" : "w" }));
    } catch (e) {
      throw new HubError("network", `${what}: the download broke off after ${got} bytes (${(e as Error).message})`);
    }
    return got;
  }
}
