// The import rules of the folder READMEs hold on the source (tools/lint/import-rules.ts), and the checker
// itself catches a violation.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { SRC, importViolations, layersOf } from "../tools/lint/import-rules.ts";

test("every folder under src has a README that states what it may import", () => {
  for (const l of layersOf()) {
    const readme = readFileSync(join(SRC, l, "README.md"), "utf8");
    assert.match(readme, /May import|Must not import|imports nothing/i, `src/${l}/README.md says nothing of imports`);
  }
});

test("imports between layers follow the READMEs", () => {
  assert.deepEqual(importViolations(), []);
});

test("the checker reports an import its README does not allow", () => {
  const dir = mkdtempSync(join(tmpdir(), "sprig-layers-"));
  try {
    for (const [layer, readme] of [
      ["low", "- May import: nothing. Must not import: high."],
      ["high", "- May import: low."],
      ["errors", "imports nothing"],
    ]) {
      mkdirSync(join(dir, layer!));
      writeFileSync(join(dir, layer!, "README.md"), readme!);
    }
    writeFileSync(join(dir, "high", "a.ts"), 'import { x } from "../low/b.ts";\nexport { x };\n');
    writeFileSync(
      join(dir, "low", "b.ts"),
      'export { y } from "../high/a.ts";\nimport * as ort from "onnxruntime-node";\nexport const x = ort ? 1 : 0;\n',
    );
    const bad = importViolations(dir);
    assert.equal(bad.length, 2, bad.join("\n"));
    assert.ok(bad.some((b) => /low\/b\.ts imports \.\.\/high\/a\.ts/.test(b)));
    assert.ok(bad.some((b) => /low\/b\.ts imports onnxruntime-node/.test(b)));
    // once low's README says so, high may import low only through low/index.ts
    writeFileSync(
      join(dir, "low", "README.md"),
      "- May import: nothing. Must not import: high. Other layers import it only through `index.ts`.",
    );
    writeFileSync(join(dir, "low", "index.ts"), 'export { x } from "./b.ts";\n');
    writeFileSync(join(dir, "high", "c.ts"), 'import { x } from "../low/index.ts";\nexport const z = x;\n');
    const deep = importViolations(dir);
    assert.equal(deep.length, 3, deep.join("\n"));
    assert.ok(deep.some((b) => /high\/a\.ts imports \.\.\/low\/b\.ts: other layers import low only through low\/index\.ts/.test(b)));
    assert.ok(!deep.some((b) => /high\/c\.ts/.test(b)), "an import through index.ts is allowed");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
