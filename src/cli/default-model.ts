// Where the model comes from when a command is given none: the project's bundled base model once it
// exists (models/ at the repo root), otherwise the caller must pass --model.

import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CliError } from "./errors.ts";

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

export function defaultModelDir(): string {
  const dir = join(REPO_ROOT, "models", "sprig-base");
  if (!existsSync(join(dir, "config.json"))) throw new CliError("no default base model is bundled yet: pass --model DIR");
  return dir;
}
