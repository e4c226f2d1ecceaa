// Writes docs/reference.md, the API reference, from the OpenAPI document the service serves at
// /openapi.json (built from the zod schemas that validate requests). Run after changing a route or schema:
//   node --import tsx tools/docs/api-reference.ts [--check]      (--check: exit 1 if the file is stale)

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startService } from "../../src/api/service.ts";

type Schema = { [k: string]: unknown };
interface Param { name: string; in: string; required: boolean; schema: Schema }
interface Operation { tags: string[]; summary: string; parameters: Param[]; requestBody?: { content: Record<string, { schema: Schema }> }; responses: Record<string, { content?: Record<string, { schema: Schema }> }>; security?: unknown[] }
export interface OpenApi { info: { version: string }; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Schema> } }

export const OUT = join(import.meta.dirname, "..", "..", "docs", "reference.md");

/** The OpenAPI document of a service on a throw-away data directory (no worker is started). */
export async function fetchOpenApi(): Promise<OpenApi> {
  const dir = mkdtempSync(join(tmpdir(), "sprig-openapi-"));
  const svc = await startService({ dataDir: dir });
  try {
    return JSON.parse((await svc.app.inject({ url: "/openapi.json" })).body) as OpenApi;
  } finally {
    await svc.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const refName = (ref: string) => ref.split("/").pop()!;
/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
const anchor = (heading: string) => heading.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
const link = (name: string) => `[\`${name}\`](#${anchor(name)})`;
const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** zod's integers carry the safe-integer limits as bounds: those are no bounds to a reader. */
const bound = (x: unknown) => (typeof x === "number" && Math.abs(x) < Number.MAX_SAFE_INTEGER ? x : undefined);

function range(s: Schema): string {
  const lo = bound(s.minimum ?? s.exclusiveMinimum ?? s.minLength ?? s.minItems);
  const hi = bound(s.maximum ?? s.maxLength ?? s.maxItems);
  const open = s.exclusiveMinimum !== undefined ? ">" : "≥";
  if (lo !== undefined && hi !== undefined) return ` ${s.exclusiveMinimum !== undefined ? `>${lo}` : lo}–${hi}`;
  if (lo !== undefined && lo !== 0 && !(s.type === "string" && lo === 1)) return ` ${open} ${lo}`;
  if (hi !== undefined) return ` ≤ ${hi}`;
  return "";
}

/** A schema as a short type expression: links for components, enums spelled out, bounds noted. */
export function typeOf(s: Schema): string {
  if (typeof s.$ref === "string") return link(refName(s.$ref));
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (Array.isArray(s.enum)) return (s.enum as unknown[]).map((v) => `\`${String(v)}\``).join(" | ");
  const alts = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  if (alts) {
    const nonNull = alts.filter((a) => a.type !== "null");
    const t = nonNull.map((a) => (isInlineObject(a) && nonNull.length > 1 ? variantLabel(a) : typeOf(a))).join(" | ");
    return nonNull.length < alts.length ? `${t} or null` : t;
  }
  if (Array.isArray(s.type)) return (s.type as string[]).map((t) => typeOf({ ...s, type: t })).join(" or ");
  switch (s.type) {
    case "array":
      return `${typeOf((s.items ?? {}) as Schema)}[]${range(s)}`;
    case "object":
      if (s.properties) return "object";
      if (s.additionalProperties && typeof s.additionalProperties === "object") return `map of string → ${typeOf(s.additionalProperties as Schema)}`;
      return "object";
    case "string":
      return `string${range(s)}${s.pattern ? ` (\`${String(s.pattern)}\`)` : ""}`;
    case "integer":
    case "number":
      return `${s.type}${range(s)}`;
    case undefined:
      return "any";
    default:
      return String(s.type);
  }
}

const isInlineObject = (s: Schema) => s.type === "object" && typeof s.properties === "object";

/** A variant of a oneOf named by its discriminating constant, e.g. runtimeType = LLAMA. */
function variantLabel(s: Schema): string {
  const props = s.properties as Record<string, Schema>;
  const d = Object.entries(props).find(([, p]) => p.const !== undefined);
  return d ? `object (${d[0]} = ${String(d[1].const)})` : "object";
}

function describe(s: Schema): string {
  const parts = [s.description as string | undefined, s.default !== undefined ? `default ${JSON.stringify(s.default)}` : undefined].filter(Boolean);
  return parts.join("; ");
}

/** Rows of a field table: nested inline objects and oneOf variants flattened into dotted names. */
export function fieldRows(s: Schema, prefix = ""): string[][] {
  const rows: string[][] = [];
  const required = new Set((s.required ?? []) as string[]);
  for (const [name, p] of Object.entries((s.properties ?? {}) as Record<string, Schema>)) {
    const full = `${prefix}${name}`;
    rows.push([`\`${full}\``, typeOf(p), required.has(name) ? "yes" : "", describe(p)]);
    if (isInlineObject(p)) rows.push(...fieldRows(p, `${full}.`));
    const alts = ((p.anyOf ?? p.oneOf) as Schema[] | undefined)?.filter(isInlineObject) ?? [];
    if (p.type === "array" && isInlineObject((p.items ?? {}) as Schema)) rows.push(...fieldRows(p.items as Schema, `${full}[].`));
    if (alts.length === 1) rows.push(...fieldRows(alts[0]!, `${full}.`));
    else for (const a of alts) {
      const label = variantLabel(a).replace(/^object \((.*)\)$/, "$1");
      rows.push(...fieldRows(a, `${full}{${label}}.`));
    }
  }
  return rows;
}

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)].join("\n");
}

const bodyType = (content: Record<string, { schema: Schema }> | undefined) => {
  const s = content?.["application/json"]?.schema;
  return s ? typeOf(s) : null;
};

export function renderReference(doc: OpenApi): string {
  const out: string[] = [
    "# Sprig API reference",
    "",
    `<!-- generated by tools/docs/api-reference.ts from /openapi.json (version ${doc.info.version}); do not edit by hand -->`,
    "",
    `Generated from the OpenAPI 3.1 document that \`sprig serve\` publishes at \`GET /openapi.json\` — the same zod schemas validate`,
    "every request, so this page cannot disagree with the server. Conventions (authentication, errors, `etag`/`If-Match`,",
    "pagination, work requests) are explained in [api.md](api.md); the walkthroughs are in the [guide](README.md).",
    "",
    "Every operation needs `Authorization: Bearer KEY` unless marked *no key*. Errors answer `{\"code\", \"message\"}`",
    "(under `/v1`: OpenAI's `{\"error\": {…}}`). In field tables, `a.b` is a field of the object `a`, `a[].b` of each",
    "element of the list `a`, and `a{k = V}.b` a field of the variant of `a` whose `k` is `V`.",
    "",
  ];
  const ops: { tag: string; method: string; path: string; op: Operation }[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(methods)) ops.push({ tag: op.tags[0] ?? "Other", method: method.toUpperCase(), path, op });
  const tags = [...new Set(ops.map((o) => o.tag))];
  out.push("## Operations", "");
  for (const tag of tags) out.push(`- **${tag}**: ${ops.filter((o) => o.tag === tag).map((o) => `[\`${o.method} ${o.path}\`](#${anchor(`${o.method} ${o.path}`)})`).join(", ")}`);
  for (const tag of tags) {
    out.push("", `### ${tag}`);
    for (const { method, path, op } of ops.filter((o) => o.tag === tag)) {
      out.push("", `#### ${method} ${path}`, "", `${op.summary}${op.security && op.security.length === 0 ? " (*no key*)" : ""}`, "");
      if (op.parameters.length) out.push(table(["parameter", "in", "type", "required", "description"], op.parameters.map((p) => [`\`${p.name}\``, p.in, typeOf(p.schema), p.required ? "yes" : "", describe(p.schema)])), "");
      const req = bodyType(op.requestBody?.content);
      if (req) out.push(`Request body: ${req}`, "");
      const [status, res] = Object.entries(op.responses).find(([k]) => k !== "default")!;
      const resType = bodyType(res.content);
      out.push(`Response: \`${status}\`${resType ? ` ${resType}` : " (no JSON body)"}`);
    }
  }
  out.push("", "## Schemas");
  for (const [name, s] of Object.entries(doc.components.schemas).sort(([a], [b]) => a.localeCompare(b))) {
    out.push("", `### ${name}`, "");
    if (s.description) out.push(String(s.description), "");
    const rows = fieldRows(s);
    out.push(rows.length ? table(["field", "type", "required", "description"], rows) : `${typeOf(s)}${s.additionalProperties === false ? "" : ""}`);
  }
  return `${out.join("\n")}\n`;
}

if (process.argv[1] === import.meta.filename) {
  const text = renderReference(await fetchOpenApi());
  if (process.argv.includes("--check")) {
    const current = readFileSync(OUT, "utf8");
    if (current !== text) {
      process.stderr.write(`${OUT} is stale: run node --import tsx tools/docs/api-reference.ts\n`);
      process.exit(1);
    }
  } else {
    writeFileSync(OUT, text);
    process.stdout.write(`wrote ${OUT}\n`);
  }
}
