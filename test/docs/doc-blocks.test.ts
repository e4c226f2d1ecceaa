// The doc-test convention itself: directives parse (and mistakes in them are caught), placeholders are
// dropped only when captured, documented outputs are matched in order, and every guide link resolves.

import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { jsonPath, outputMatches, parseBlocks, sectionOf } from "./doc-blocks.ts";
import { docContext, prepare } from "./doc-runner.ts";
import { GUIDE } from "./guide.ts";

const md = (...lines: string[]) => lines.join("\n");

test("directives attach to the block below them", () => {
  const blocks = parseBlocks("x.md", md("# T", "<!-- doc-test: capture ID=.items[0].id -->", "<!-- doc-test: expect /ok/i -->", "```sh", "a", "```", "```json", "{}", "```", "<!-- doc-test: fails /no/ -->", "<!-- doc-test: output -->", "```js", "b", "```", "```text", "line …", "```"));
  assert.equal(blocks.length, 3);
  assert.deepEqual(blocks[0]!.directives.map((d) => d.kind), ["capture", "expect"]);
  assert.equal(blocks[0]!.section, "T");
  assert.equal(blocks[1]!.lang, "json");
  assert.equal(blocks[2]!.expectedOutput, "line …");
});

test("mistakes in directives are errors, not silently skipped examples", () => {
  assert.throws(() => parseBlocks("x.md", md("<!-- doc-test: skip -->", "```sh", "a", "```")), /skip needs a reason/);
  assert.throws(() => parseBlocks("x.md", md("<!-- doc-test: expekt /a/ -->", "```sh", "a", "```")), /unknown doc-test directive 'expekt'/);
  assert.throws(() => parseBlocks("x.md", md("<!-- doc-test: expect a -->", "```sh", "a", "```")), /expected \/regex\//);
  assert.throws(() => parseBlocks("x.md", md("<!-- doc-test: background -->", "some prose", "```sh", "a", "```")), /right above a fenced block/);
  assert.throws(() => parseBlocks("x.md", md("<!-- doc-test: background -->", "```json", "{}", "```")), /only sh and js blocks run/);
  assert.throws(() => parseBlocks("x.md", md("```sh", "a")), /unclosed code fence/);
});

test("placeholders are dropped when captured, and refused when not", () => {
  const ctx = docContext([[/foo/g, "bar"]]);
  const [b] = parseBlocks("x.md", md("```sh", "export ID=<the id above>", "npx sprig get foo $ID", "```"));
  assert.throws(() => prepare(ctx, b!), /\$ID is a placeholder but no earlier block captured it/);
  ctx.env.ID = "x1";
  assert.match(prepare(ctx, b!), /^node \S+\/bin\/sprig\.mjs get bar \$ID$/);
  ctx.url = "http://127.0.0.1:4321";
  const [c] = parseBlocks("x.md", md("```sh", "curl http://127.0.0.1:8080/health", "```"));
  assert.equal(prepare(ctx, c!), "curl http://127.0.0.1:4321/health");
  rmSync(ctx.cwd, { recursive: true, force: true });
});

test("JSON paths and documented outputs", () => {
  assert.equal(jsonPath({ items: [{ id: "a" }, { id: "b" }] }, ".items[1].id"), "b");
  assert.equal(jsonPath([{ id: "a" }], ".[0].id"), "a");
  assert.equal(jsonPath({ a: null }, ".a.b"), undefined);
  assert.equal(outputMatches("line 2: bad (…)\nline 3: worse", "x\n  line 2: bad (at 4)\nline 3: worse\n"), null);
  assert.equal(outputMatches("line 3: worse\nline 2: bad (…)", "line 2: bad (at 4)\nline 3: worse"), "line 2: bad (…)", "order matters");
  assert.equal(outputMatches("a.b", "axb"), "a.b", "only … is a wildcard");
});

test("sections end at the next heading of their level", () => {
  const text = md("# A", "## Quick", "x", "### sub", "y", "## Next", "z");
  assert.equal(sectionOf(text, "Quick"), md("## Quick", "x", "### sub", "y"));
  assert.throws(() => sectionOf(text, "Nope"), /no section 'Nope'/);
});

test("links between the README and the guide's pages resolve, anchors included", () => {
  const anchors = (file: string) => new Set([...readFileSync(file, "utf8").matchAll(/^#+ (.+)$/gm)].map((m) => m[1]!.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-")));
  for (const file of ["README.md", ...GUIDE]) {
    for (const m of readFileSync(file, "utf8").matchAll(/\]\(([^)\s]+)\)/g)) {
      const [target, anchor] = m[1]!.split("#");
      if (/^[a-z]+:/.test(target!)) continue;
      const path = target ? join(dirname(file), target) : file;
      assert.ok(existsSync(path), `${file}: link to ${m[1]} — no ${path}`);
      if (anchor && path.endsWith(".md")) assert.ok(anchors(path).has(anchor), `${file}: link to ${m[1]} — no such heading`);
    }
  }
});
