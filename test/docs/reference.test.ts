// docs/reference.md is the OpenAPI document of the running code, rendered: regenerating it must give the
// committed file (run `node --import tsx tools/docs/api-reference.ts` after changing a route or schema).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { OUT, fetchOpenApi, fieldRows, renderReference, typeOf } from "../../tools/docs/api-reference.ts";

test("docs/reference.md is up to date with /openapi.json", async () => {
  const doc = await fetchOpenApi();
  const text = renderReference(doc);
  assert.ok(readFileSync(OUT, "utf8") === text, "docs/reference.md is stale: run node --import tsx tools/docs/api-reference.ts");
  // every operation and every schema has its section
  for (const [path, methods] of Object.entries(doc.paths)) for (const m of Object.keys(methods)) assert.ok(text.includes(`#### ${m.toUpperCase()} ${path}\n`), `${m} ${path}`);
  for (const name of Object.keys(doc.components.schemas)) assert.ok(text.includes(`\n### ${name}\n`), name);
});

test("schema types render readably: links, enums, bounds, nullables, nested fields", () => {
  assert.equal(typeOf({ $ref: "#/components/schemas/Model" }), "[`Model`](#model)");
  assert.equal(typeOf({ type: "string", enum: ["A", "B"] }), "`A` | `B`");
  assert.equal(typeOf({ type: "integer", minimum: 1, maximum: 1000 }), "integer 1–1000");
  assert.equal(typeOf({ type: "integer", minimum: -9007199254740991, maximum: 9007199254740991 }), "integer");
  assert.equal(typeOf({ anyOf: [{ type: "number", minimum: 0, maximum: 2 }, { type: "null" }] }), "number 0–2 or null");
  assert.equal(typeOf({ type: "array", items: { type: "string" }, maxItems: 16 }), "string[] ≤ 16");
  assert.equal(typeOf({ type: "object", additionalProperties: { type: "string" } }), "map of string → string");
  const rows = fieldRows({
    type: "object",
    required: ["a"],
    properties: {
      a: { type: "object", required: ["b"], properties: { b: { type: "boolean", description: "bee" } } },
      v: { oneOf: [{ type: "object", properties: { kind: { const: "X" }, x: { type: "string" } } }, { type: "object", properties: { kind: { const: "Y" } } }] },
    },
  });
  assert.deepEqual(rows.map((r) => r[0]), ["`a`", "`a.b`", "`v`", "`v{kind = X}.kind`", "`v{kind = X}.x`", "`v{kind = Y}.kind`"]);
  assert.deepEqual(rows[1], ["`a.b`", "boolean", "yes", "bee"]);
  assert.equal(rows[2]![1], "object (kind = X) | object (kind = Y)");
});

test("the reference links resolve to its own headings", () => {
  const text = readFileSync(OUT, "utf8");
  const anchors = new Set([...text.matchAll(/^#+ (.+)$/gm)].map((m) => m[1]!.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-")));
  for (const m of text.matchAll(/\]\(#([^)]+)\)/g)) assert.ok(anchors.has(m[1]!), `#${m[1]} has no heading`);
});
