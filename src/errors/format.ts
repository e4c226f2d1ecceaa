// The two message formatters every layer shares: zod issues naming each field, and a long list of
// problems cut to its first few with a count of the rest.

import type { z } from "zod";

export interface FormatIssuesOptions {
  /** prefix of every path, e.g. "body" or "sampling" */
  root?: string;
  /** what to call the whole value when an issue has no path ("" = the message alone) */
  whole?: string;
  /** extra text after an unknown key's name, e.g. a did-you-mean */
  unknownKey?: (key: string) => string;
  /** the whole text of an unknown key's problem, when the default `path.key: unknown field…` does not fit */
  unknownKeyText?: (key: string, path: string) => string;
  /** the value that was parsed: a field absent from it is "missing (required)", a present one shows what was found */
  input?: Record<string, unknown>;
}

/** zod issues one problem each: `unitCount: expected number`, `bogus: unknown field`. */
export function issueList(issues: readonly z.core.$ZodIssue[], o: FormatIssuesOptions | string = {}): string[] {
  const opts = typeof o === "string" ? { root: o } : o;
  return issues.map((i) => {
    const path = [opts.root ?? "", ...i.path.map(String)].filter(Boolean).join(".");
    if (i.code === "unrecognized_keys")
      return i.keys
        .map((k) => opts.unknownKeyText?.(k, path) ?? `${[path, k].filter(Boolean).join(".")}: unknown field${opts.unknownKey?.(k) ?? ""}`)
        .join("; ");
    const where = path || (opts.whole ?? "body");
    if (opts.input && i.path.length > 0) {
      const top = String(i.path[0]);
      if (!(top in opts.input)) return `${where}: missing (required)`;
      return `${where}: ${i.message} (found ${JSON.stringify(opts.input[top])})`;
    }
    return where ? `${where}: ${i.message}` : i.message;
  });
}

/** zod issues as one message: `body.unitCount: expected number; body.bogus: unknown field`. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], o: FormatIssuesOptions | string = {}): string {
  return issueList(issues, o).join("; ");
}

/** The first `max` problems, one per line after `head`, and "… M more" when there are more. */
export function listProblems(head: string, problems: readonly string[], max = 8): string {
  const shown = problems
    .slice(0, max)
    .map((p) => `\n  ${p}`)
    .join("");
  const rest = problems.length > max ? `\n  … ${problems.length - max} more` : "";
  return `${head}${shown}${rest}`;
}
