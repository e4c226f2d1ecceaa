// A stand-in for the Hugging Face Hub on 127.0.0.1, speaking the file protocol huggingface_hub uses:
// /api/models/REPO/revision/REV (commit + siblings), HEAD/GET /REPO/resolve/REV/FILE (small files
// directly with a git-sha1 ETag; LFS files as a 302 to a "CDN" — a second server, another origin — with
// X-Linked-Etag = sha256 and X-Linked-Size), range requests (206), gated repositories (401 without the
// right token), and knobs to break the next download of a file (cut after N bytes, or flip a byte).
// Every request to either server is logged, with the repository file it concerns.

import { createHash } from "node:crypto";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeRepo {
  commit: string;
  /** branch/tag names → this commit */
  refs: string[];
  files: Record<string, Buffer>;
  /** files over this size are served as LFS (redirect, sha256 etag) */
  lfsOver?: number;
  /** only this token may read it */
  gatedToken?: string;
}

export interface LoggedRequest {
  method: string;
  url: string;
  range: string | null;
  auth: string | null;
  /** "ORG/NAME/FILE" for file requests */
  file: string | null;
  server: "hub" | "cdn";
}

const gitSha1 = (b: Buffer) => createHash("sha1").update(`blob ${b.length}\0`).update(b).digest("hex");
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

export class FakeHub {
  readonly log: LoggedRequest[] = [];
  /** next GET of a file's bytes ends after this many bytes (then the socket is destroyed) */
  readonly cutAfter = new Map<string, number>();
  /** next GET of a file's bytes has one byte flipped */
  readonly corruptOnce = new Set<string>();
  private servers: Server[] = [];
  url = "";
  cdnUrl = "";

  constructor(readonly repos: Record<string, FakeRepo>) {}

  async start(): Promise<string> {
    const listen = async (server: "hub" | "cdn") => {
      const srv = createServer((req, res) => this.handle(server, req.method ?? "GET", decodeURI(req.url ?? "/"), req.headers, res));
      this.servers.push(srv);
      await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
      return `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    };
    this.url = await listen("hub");
    this.cdnUrl = await listen("cdn");
    return this.url;
  }

  async stop(): Promise<void> {
    for (const s of this.servers) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  }

  private handle(server: "hub" | "cdn", method: string, url: string, h: Record<string, string | string[] | undefined>, res: import("node:http").ServerResponse): void {
    const range = typeof h.range === "string" ? h.range : null;
    const auth = typeof h.authorization === "string" ? h.authorization : null;
    const entry: LoggedRequest = { method, url, range, auth, file: null, server };
    this.log.push(entry);
    if (server === "cdn") return this.cdn(url, method, range, auth, entry, res);
    const deny = (repo: FakeRepo) => repo.gatedToken !== undefined && auth !== `Bearer ${repo.gatedToken}`;
    let m = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/(.+)$/.exec(url);
    if (m) {
      const repo = this.repos[m[1]!];
      if (!repo) return void res.writeHead(404).end();
      if (deny(repo)) return void res.writeHead(401).end('{"error":"Access to model is restricted."}');
      if (m[2] !== repo.commit && !repo.refs.includes(m[2]!)) return void res.writeHead(404).end();
      res.writeHead(200, { "content-type": "application/json" });
      return void res.end(JSON.stringify({ id: m[1], sha: repo.commit, siblings: Object.keys(repo.files).map((rfilename) => ({ rfilename })) }));
    }
    m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url);
    if (m) {
      entry.file = `${m[1]}/${m[3]}`;
      const repo = this.repos[m[1]!];
      const file = repo?.files[m[3]!];
      if (!repo || !file || (m[2] !== repo.commit && !repo.refs.includes(m[2]!))) return void res.writeHead(404).end();
      if (deny(repo)) return void res.writeHead(401).end();
      if (file.length > (repo.lfsOver ?? Infinity)) {
        res.writeHead(302, { location: `${this.cdnUrl}/cdn/${m[1]}/${sha256(file)}`, "x-linked-etag": `"${sha256(file)}"`, "x-linked-size": String(file.length), "x-repo-commit": repo.commit, etag: `"${gitSha1(Buffer.from("pointer"))}"` });
        return void res.end();
      }
      return this.send(method, `${m[1]}/${m[3]}`, file, range, { etag: `"${gitSha1(file)}"`, "x-repo-commit": repo.commit }, res);
    }
    res.writeHead(404).end();
  }

  private cdn(url: string, method: string, range: string | null, auth: string | null, entry: LoggedRequest, res: import("node:http").ServerResponse): void {
    const m = /^\/cdn\/([^/]+\/[^/]+)\/([0-9a-f]{64})$/.exec(url);
    const repo = m ? this.repos[m[1]!] : undefined;
    const found = repo && Object.entries(repo.files).find(([, b]) => sha256(b) === m![2]);
    if (!m || !found) return void res.writeHead(404).end();
    entry.file = `${m[1]}/${found[0]}`;
    if (auth) return void res.writeHead(400).end("the CDN must not receive the Hub token");
    this.send(method, entry.file, found[1], range, { etag: `"${m[2]}"` }, res);
  }

  private send(method: string, key: string, file: Buffer, range: string | null, headers: Record<string, string>, res: import("node:http").ServerResponse): void {
    let start = 0;
    const r = range ? /^bytes=(\d+)-$/.exec(range) : null;
    if (r) start = Number(r[1]);
    if (start > file.length) return void res.writeHead(416).end();
    let body = file.subarray(start);
    const status = r ? 206 : 200;
    res.writeHead(status, { ...headers, "content-length": String(body.length), "accept-ranges": "bytes", ...(r ? { "content-range": `bytes ${start}-${file.length - 1}/${file.length}` } : {}) });
    if (method === "HEAD") return void res.end();
    if (this.corruptOnce.delete(key)) {
      body = Buffer.from(body);
      body[body.length >> 1]! ^= 0xff;
    }
    const cut = this.cutAfter.get(key);
    if (cut !== undefined) {
      this.cutAfter.delete(key);
      res.write(body.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(body);
  }
}
