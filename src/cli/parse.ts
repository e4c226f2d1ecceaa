// Parsing of command-line values, with errors that name the flag.

import { CliError } from "./errors.ts";

export function parseIds(s: string, flag: string): number[] {
  const parts = s
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
  if (parts.length === 0) throw new CliError(`${flag}: give at least one token id`);
  return parts.map((p) => {
    if (!/^\d+$/.test(p)) throw new CliError(`${flag}: '${p}' is not a token id (non-negative integer)`);
    return Number(p);
  });
}

export function parseNumber(s: string, flag: string, o: { int?: boolean; min?: number; max?: number } = {}): number {
  const v = Number(s);
  if (s.trim() === "" || !Number.isFinite(v)) throw new CliError(`${flag}: '${s}' is not a number`);
  if (o.int && !Number.isInteger(v)) throw new CliError(`${flag}: '${s}' is not an integer`);
  if (o.min !== undefined && v < o.min) throw new CliError(`${flag}: must be ≥ ${o.min}, got ${s}`);
  if (o.max !== undefined && v > o.max) throw new CliError(`${flag}: must be ≤ ${o.max}, got ${s}`);
  return v;
}

/** A hyperparameter flag that takes a number or "auto" (resolved from the dataset when training starts). */
export function parseNumberOrAuto(s: string, flag: string, o: { int?: boolean; min?: number; max?: number } = {}): number | "auto" {
  return s.trim().toLowerCase() === "auto" ? "auto" : parseNumber(s, flag, o);
}
