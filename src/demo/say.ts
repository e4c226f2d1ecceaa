// The demo's narration: numbered steps, indented details and plain-text tables, written to stdout (or to
// stderr with --json, so that stdout carries only the report).

export class Say {
  private step = 0;
  constructor(readonly out: NodeJS.WriteStream) {}

  line(s = ""): void {
    this.out.write(`${s}\n`);
  }

  /** A numbered step heading. */
  heading(title: string): void {
    this.line();
    this.line(`${++this.step}. ${title}`);
  }

  detail(s: string): void {
    this.line(`   ${s}`);
  }

  /** Columns padded to their widest cell; the first row is the header, underlined. */
  table(rows: string[][], indent = "   "): void {
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => [...(r[c] ?? "")].length)));
    const fmt = (r: string[]) =>
      indent +
      r
        .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!)))
        .join("  ")
        .trimEnd();
    this.line(fmt(rows[0]!));
    this.line(indent + widths.map((w) => "─".repeat(w)).join("  "));
    for (const r of rows.slice(1)) this.line(fmt(r));
  }
}

/** One line of at most `n` characters, newlines shown as ⏎. */
export function clip(s: string, n: number): string {
  const one = s.replace(/\n/g, "⏎");
  return [...one].length <= n ? one : `${[...one].slice(0, n - 1).join("")}…`;
}

export const pct = (x: number | null | undefined): string => (x === null || x === undefined ? "—" : `${(100 * x).toFixed(1)}%`);

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "—";
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export const count = (n: number | null | undefined): string => (n === null || n === undefined ? "—" : n.toLocaleString("en-US"));
