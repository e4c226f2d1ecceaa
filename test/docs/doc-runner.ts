// Runs documentation blocks (see doc-blocks.ts for the convention) in a shared context: one working
// directory, an environment that captures and `export`s carry from block to block, background servers,
// and the substitutions a test needs (the CLI without npx, a free port, a tiny model and data).

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Block, jsonPath, outputMatches } from "./doc-blocks.ts";

export const REPO = process.cwd();
const BIN = join(REPO, "bin/sprig.mjs");
/** the address the docs use for the service; replaced by the live one */
export const DOC_URL = "http://127.0.0.1:8080";

export interface DocContext {
  cwd: string;
  env: Record<string, string>;
  /** applied to every block's code, in order, before the built-in ones */
  substitutions: [RegExp, string][];
  url: string | null;
  servers: ChildProcess[];
  /** blocks run and skipped, for the coverage summary */
  ran: Block[];
  skipped: Block[];
}

export function docContext(substitutions: [RegExp, string][] = [], env: Record<string, string> = {}): DocContext {
  const cwd = mkdtempSync(join(tmpdir(), "sprig-docs-"));
  symlinkSync(join(REPO, "node_modules"), join(cwd, "node_modules")); // for the js examples' imports
  const base = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => v !== undefined && !k.startsWith("SPRIG_"))) as Record<string, string>;
  return { cwd, env: { ...base, ...env }, substitutions, url: null, servers: [], ran: [], skipped: [] };
}

const PLACEHOLDER = /^\s*export\s+([A-Z_][A-Z0-9_]*)=<[^>]*>\s*(#.*)?$/;

/** The block's code as the test runs it. */
export function prepare(ctx: DocContext, b: Block): string {
  const lines = b.code.split("\n").filter((l) => {
    const m = PLACEHOLDER.exec(l);
    if (!m) return true;
    assert.ok(ctx.env[m[1]!] !== undefined, `${b.file}:${b.line}: $${m[1]} is a placeholder but no earlier block captured it`);
    return false;
  });
  let code = lines.join("\n");
  for (const [re, to] of ctx.substitutions) code = code.replace(re, to);
  code = code.replace(/\bnpx sprig\b/g, `node ${BIN}`);
  if (ctx.url) code = code.replaceAll(DOC_URL, ctx.url);
  return code;
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved as they arrived (what a terminal shows) */
  both: string;
  env: string;
}

function exec(ctx: DocContext, cmd: string, args: string[], timeoutMs: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ctx.cwd, env: ctx.env, stdio: ["ignore", "pipe", "pipe", "pipe"] });
    const out = { stdout: "", stderr: "", both: "", env: "" };
    child.stdout!.on("data", (d: Buffer) => {
      out.stdout += d.toString();
      out.both += d.toString();
    });
    child.stderr!.on("data", (d: Buffer) => {
      out.stderr += d.toString();
      out.both += d.toString();
    });
    (child.stdio[3] as NodeJS.ReadableStream).on("data", (d: Buffer) => (out.env += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, ...out });
    });
  });
}

/** Start a background block (a server) and wait until it serves; its URL replaces DOC_URL from then on. */
async function background(ctx: DocContext, b: Block, code: string): Promise<void> {
  // the docs' server listens on 8080; the test's on any free port
  const cmd = /\bsprig(\.mjs)? serve\b/.test(code) && !code.includes("--port") ? `${code} --port 0` : code;
  const child = spawn("bash", ["-c", `exec ${cmd}`], { cwd: ctx.cwd, env: ctx.env, stdio: ["ignore", "pipe", "pipe"] });
  ctx.servers.push(child);
  let log = "";
  child.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  ctx.url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      log += d.toString();
      const m = /"url":"([^"]+)"[^\n]*sprig is serving|sprig is serving[^\n]*"url":"([^"]+)"/.exec(log);
      if (m) resolve(m[1] ?? m[2]!);
    });
    child.on("exit", (c) => reject(new Error(`${b.file}:${b.line}: the server exited (${c}) before serving:\n${log}`)));
  });
  ctx.env.SPRIG_URL = ctx.url;
}

export async function runBlock(ctx: DocContext, b: Block): Promise<void> {
  const skip = b.directives.find((d) => d.kind === "skip");
  if (skip) return void ctx.skipped.push(b);
  const where = `${b.file}:${b.line} (${b.section})`;
  const code = prepare(ctx, b);
  ctx.ran.push(b);
  if (b.directives.some((d) => d.kind === "background")) return background(ctx, b, code);
  let r: Result;
  if (b.lang === "js") {
    const file = join(ctx.cwd, `example-${ctx.ran.length}.mjs`);
    writeFileSync(file, code);
    r = await exec(ctx, process.execPath, [file], 180_000);
  } else {
    // after the block, its environment goes to fd 3 so that `export`s carry over to the next blocks
    r = await exec(ctx, "bash", ["-c", `set -eo pipefail\n${code}\nenv -0 >&3`], 180_000);
  }
  const all = r.both;
  const show = `\n--- code\n${code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
  const fails = b.directives.find((d) => d.kind === "fails");
  if (fails) {
    assert.notEqual(r.code, 0, `${where}: expected to fail${show}`);
    assert.match(all, fails.re, `${where}: the failure does not say ${fails.re}${show}`);
  } else {
    assert.equal(r.code, 0, `${where}: exit ${r.code}${show}`);
    // curl exits 0 on HTTP errors: an error body in the output is a failure too
    assert.doesNotMatch(r.stdout, /^\{"code":"\w+","message":|"error":\{"message":/m, `${where}: answered with an error${show}`);
  }
  for (const d of b.directives) {
    if (d.kind === "expect") assert.match(all, d.re, `${where}: output does not match ${d.re}${show}`);
    if (d.kind === "capture") {
      let v: unknown;
      if (d.path.startsWith("/")) v = new RegExp(d.path.slice(1, d.path.lastIndexOf("/")), "m").exec(r.stdout)?.[1];
      else {
        const json = JSON.parse(r.stdout) as unknown;
        v = jsonPath(json, d.path);
      }
      assert.ok(typeof v === "string" || typeof v === "number", `${where}: capture ${d.name}=${d.path} found nothing${show}`);
      ctx.env[d.name] = String(v);
    }
  }
  if (b.expectedOutput !== undefined) {
    const missing = outputMatches(b.expectedOutput, all);
    assert.equal(missing, null, `${where}: the documented output line "${missing}" does not appear${show}`);
  }
  if (r.env) {
    for (const kv of r.env.split("\0")) {
      const i = kv.indexOf("=");
      if (i > 0 && /^[A-Z_][A-Z0-9_]*$/.test(kv.slice(0, i)) && !["SHLVL", "_", "PWD", "OLDPWD"].includes(kv.slice(0, i))) ctx.env[kv.slice(0, i)] = kv.slice(i + 1);
    }
  }
}

/** Stop the background servers (SIGTERM; a graceful stop exits 0). */
export async function stopServers(ctx: DocContext): Promise<(number | null)[]> {
  return Promise.all(
    ctx.servers.map((c) => {
      if (c.exitCode !== null) return Promise.resolve(c.exitCode);
      return new Promise<number | null>((resolve) => {
        c.once("exit", (code) => resolve(code));
        c.kill("SIGTERM");
      });
    }),
  );
}
