// The import rules the folder READMEs state, checked on the source: each layer's "May import:" line is
// read from its README and every relative import of every file under src/ must stay within it; a layer
// whose README says other layers import it "only through `index.ts`" is imported by its index.ts alone.
// `errors` is the leaf every layer may import; only engine/runtime/ort-session.ts imports onnxruntime-node.
// Run by `npm run lint` (this file as a script) and by test/layers.test.ts.

import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

export const SRC = resolve(import.meta.dirname, "../../src");

export function layersOf(src = SRC): string[] {
  return readdirSync(src).filter((d) => statSync(join(src, d)).isDirectory());
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** The layers a README allows: named in its "May import" sentence (up to "Must not"), or all of them. */
export function allowedImports(layer: string, src = SRC): Set<string> {
  const layers = layersOf(src);
  const file = join(src, layer, "README.md");
  const readme = existsSync(file) ? readFileSync(file, "utf8").replace(/\s+/g, " ") : "";
  if (/May import every layer/i.test(readme)) return new Set(layers);
  const m = /May import:(.*?)(?:Must not|Holds no|\.\s|$)/i.exec(readme);
  const named = new Set(m ? layers.filter((l) => new RegExp(`\\b${l}\\b`).test(m[1] ?? "")) : []);
  return new Set([...named, layer, "errors"]);
}

/** Whether a layer's README says other layers import it only through its index.ts. */
export function onlyThroughIndex(layer: string, src = SRC): boolean {
  const file = join(src, layer, "README.md");
  return existsSync(file) && /only through `index\.ts`/i.test(readFileSync(file, "utf8").replace(/\s+/g, " "));
}

function imports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)[^"'`;]*?from\s+["']([^"']+)["']/g),
    ...text.matchAll(/import\(\s*["']([^"']+)["']\s*\)/g),
  ].map((m) => m[1]!);
}

/** Every import that breaks a README's rule, as one line each (empty when all is well). */
export function importViolations(src = SRC): string[] {
  const bad: string[] = [];
  const viaIndex = new Set(layersOf(src).filter((l) => onlyThroughIndex(l, src)));
  for (const layer of layersOf(src)) {
    if (!existsSync(join(src, layer, "README.md"))) bad.push(`src/${layer} has no README.md stating what it may import`);
    const ok = allowedImports(layer, src);
    for (const f of files(join(src, layer))) {
      for (const spec of imports(f)) {
        if (spec === "onnxruntime-node" && relative(src, f) !== join("engine", "runtime", "ort-session.ts"))
          bad.push(`${relative(src, f)} imports onnxruntime-node`);
        if (!spec.startsWith(".")) continue;
        const path = relative(src, resolve(dirname(f), spec));
        const target = path.split(sep)[0]!;
        if (!ok.has(target))
          bad.push(`${relative(src, f)} imports ${spec} (layer ${target}; ${layer} may import ${[...ok].sort().join(", ")})`);
        else if (target !== layer && viaIndex.has(target) && path !== join(target, "index.ts"))
          bad.push(`${relative(src, f)} imports ${spec}: other layers import ${target} only through ${target}/index.ts`);
      }
    }
  }
  return bad;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const bad = importViolations();
  for (const b of bad) process.stderr.write(`import rule: ${b}\n`);
  if (bad.length) process.exit(1);
}
