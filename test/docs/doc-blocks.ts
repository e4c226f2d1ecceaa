// The documentation's runnable examples: fenced ```sh blocks (and ```js), with the `<!-- doc-test: … -->`
// directives written on the lines right above them. The convention, for doc writers:
//
//   <!-- doc-test: skip REASON -->          not run (REASON is required), e.g. downloads or `npm test` itself
//   <!-- doc-test: background -->           a server: started, waited for ("sprig is serving"), stopped at the end
//   <!-- doc-test: capture NAME=PATH -->    set $NAME for later blocks from stdout: a JSON path (.id, .[0].id,
//                                           .items[1].name) or /regex/ (first group)
//   <!-- doc-test: expect /regex/ -->       stdout + stderr must match
//   <!-- doc-test: fails /regex/ -->        must exit non-zero, and stdout + stderr must match
//   <!-- doc-test: output -->               the next fenced non-sh block is the output: each of its lines must appear
//                                           in order ("…" matches anything)
//
// Lines `export NAME=<…>` (an angle-bracket placeholder value) are the reader's to fill in: the test drops
// them and supplies NAME from an earlier capture.

export type Directive =
  | { kind: "skip"; reason: string }
  | { kind: "background" }
  | { kind: "capture"; name: string; path: string }
  | { kind: "expect"; re: RegExp }
  | { kind: "fails"; re: RegExp }
  | { kind: "output" };

export interface Block {
  file: string;
  /** 1-based line of the opening fence */
  line: number;
  lang: string;
  /** the nearest heading above the block */
  section: string;
  code: string;
  directives: Directive[];
  /** with an `output` directive: the expected output block's text */
  expectedOutput?: string;
}

const DIRECTIVE = /^<!--\s*doc-test:\s*(\w+)\s*(.*?)\s*-->$/;
export const RUNNABLE = new Set(["sh", "js"]);

function regex(src: string, where: string): RegExp {
  const m = /^\/(.*)\/([a-z]*)$/s.exec(src);
  if (!m) throw new Error(`${where}: expected /regex/, got '${src}'`);
  return new RegExp(m[1]!, m[2]);
}

function parseDirective(kind: string, arg: string, where: string): Directive {
  switch (kind) {
    case "skip":
      if (!arg) throw new Error(`${where}: skip needs a reason`);
      return { kind, reason: arg };
    case "background":
    case "output":
      return { kind };
    case "capture": {
      const m = /^([A-Z_][A-Z0-9_]*)=(\S.*)$/.exec(arg);
      if (!m) throw new Error(`${where}: expected capture NAME=PATH, got '${arg}'`);
      return { kind, name: m[1]!, path: m[2]! };
    }
    case "expect":
    case "fails":
      return { kind, re: regex(arg, where) };
    default:
      throw new Error(`${where}: unknown doc-test directive '${kind}'`);
  }
}

/** Every fenced block of a Markdown text with its directives; runnable ones are those in RUNNABLE. */
export function parseBlocks(file: string, text: string): Block[] {
  const lines = text.split("\n");
  const out: Block[] = [];
  let section = "";
  let pending: Directive[] = [];
  let awaitingOutput: Block | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const where = `${file}:${i + 1}`;
    const d = DIRECTIVE.exec(line.trim());
    if (d) {
      pending.push(parseDirective(d[1]!, d[2]!, where));
      continue;
    }
    const fence = /^(\s*)```(\S*)\s*$/.exec(line);
    if (!fence) {
      if (/^#+\s/.test(line)) section = line.replace(/^#+\s*/, "");
      if (line.trim() !== "" && pending.length) throw new Error(`${where}: doc-test directives must sit right above a fenced block`);
      continue;
    }
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]!); i++) body.push(lines[i]!.slice(fence[1]!.length));
    if (i >= lines.length) throw new Error(`${file}:${start + 1}: unclosed code fence`);
    const block: Block = { file, line: start + 1, lang: fence[2]!, section, code: body.join("\n"), directives: pending };
    pending = [];
    if (awaitingOutput && !RUNNABLE.has(block.lang)) {
      awaitingOutput.expectedOutput = block.code;
      awaitingOutput = null;
      continue;
    }
    if (awaitingOutput) throw new Error(`${file}:${awaitingOutput.line}: 'output' expects a non-sh block right after`);
    if (block.directives.length && !RUNNABLE.has(block.lang)) throw new Error(`${file}:${block.line}: doc-test directives on a '${block.lang}' block (only sh and js blocks run)`);
    if (block.directives.some((x) => x.kind === "output")) awaitingOutput = block;
    out.push(block);
  }
  if (pending.length) throw new Error(`${file}: doc-test directives at the end of the file`);
  return out;
}

/** The blocks of one section (a heading and everything below it up to the next heading of its level). */
export function sectionOf(text: string, heading: string): string {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.replace(/^#+\s*/, "") === heading && /^#+\s/.test(l));
  if (start < 0) throw new Error(`no section '${heading}'`);
  const level = /^#+/.exec(lines[start]!)![0].length;
  let end = start + 1;
  while (end < lines.length && !(/^#+\s/.test(lines[end]!) && /^#+/.exec(lines[end]!)![0].length <= level)) end++;
  return lines.slice(start, end).join("\n");
}

/** Read `.a.b[0].c`-style paths (`.` alone is the whole value) out of a JSON value. */
export function jsonPath(value: unknown, path: string): unknown {
  if (!path.startsWith(".")) throw new Error(`JSON path must start with '.': ${path}`);
  let cur = value;
  for (const part of path.slice(1).match(/[^.[\]]+|\[\d+\]/g) ?? []) {
    if (cur === null || cur === undefined) return undefined;
    cur = part.startsWith("[") ? (cur as unknown[])[Number(part.slice(1, -1))] : (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Do the expected lines appear, in order, among the actual ones? "…" in an expected line matches anything. */
export function outputMatches(expected: string, actual: string): string | null {
  const want = expected.split("\n").map((l) => l.trim()).filter(Boolean);
  const have = actual.split("\n").map((l) => l.trim());
  let at = 0;
  for (const w of want) {
    const re = new RegExp(`^${w.split("…").map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
    while (at < have.length && !re.test(have[at]!)) at++;
    if (at >= have.length) return w;
    at++;
  }
  return null;
}
