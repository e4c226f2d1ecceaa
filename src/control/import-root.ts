// Which server directories a HUGGING_FACE_DIRECTORY import may read: only those inside an import root the
// operator configured (`sprig serve --import-root DIR`), checked again after symlinks are resolved, and
// never the service's own data directory (artifacts of other tenants, uploaded objects, the database).
// A refusal names no path but the one the caller gave and the roots, and says nothing about what exists
// outside a root: the lexical check comes before any file system access.

import { realpath } from "node:fs/promises";
import { dirname, isAbsolute, relative, resolve } from "node:path";
import { badRequest, type ServiceError } from "./errors.ts";

export interface ImportConfinement {
  /** directories imports may read from (empty: importing from the server's disk is disabled) */
  roots: readonly string[];
  /** directories never importable, even inside a root (the service's data directory) */
  forbidden: readonly string[];
}

/** `p` is `dir` or below it (both absolute and normalized). */
export function isInside(p: string, dir: string): boolean {
  const rel = relative(dir, p);
  return rel === "" || (!isAbsolute(rel) && rel !== ".." && !rel.startsWith("../"));
}

const real = async (p: string): Promise<string | null> => realpath(p).catch(() => null);

/**
 * The real path of `path` (absolute, symlinks resolved) when an import may read it; otherwise a 400
 * naming `field`. Relative paths are taken from the server's working directory.
 */
export async function confineImportPath(path: string, c: ImportConfinement, field = "modelSource.path"): Promise<string> {
  if (!c.roots.length)
    throw badRequest(
      `${field}: importing models from the server's disk is disabled on this service; its operator allows a directory with \`sprig serve --import-root DIR\``,
    );
  const roots = c.roots.map((r) => resolve(r));
  const outside = (): ServiceError =>
    badRequest(`${field}: ${path} is not inside a directory this service imports from (${roots.join(", ")})`);
  const wanted = resolve(path);
  if (!roots.some((r) => isInside(wanted, r))) throw outside();
  const realRoots = (await Promise.all(roots.map(real))).filter((r): r is string => r !== null);
  const forbidden = [
    ...c.forbidden.map((f) => resolve(f)),
    ...(await Promise.all(c.forbidden.map(real))).filter((r): r is string => r !== null),
  ];
  const allowed = (p: string) => realRoots.some((r) => isInside(p, r)) && !forbidden.some((f) => isInside(p, f));
  // a symlink inside a root may point anywhere: only where it leads counts
  const target = await real(wanted);
  if (target !== null) {
    if (!allowed(target)) throw outside();
    return target;
  }
  // missing: said only when the deepest part that exists is allowed, so no link probes outside a root
  let existing = dirname(wanted);
  let at = await real(existing);
  while (at === null && existing !== dirname(existing)) {
    existing = dirname(existing);
    at = await real(existing);
  }
  if (at === null || !allowed(at)) throw outside();
  throw badRequest(`${field}: ${path} is not a readable model directory`);
}
