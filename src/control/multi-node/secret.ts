// The shared secret nodes authenticate each other with: read from SPRIG_NODE_SECRET or a file, sent as a
// bearer token on every internal request, compared in constant time (hashes of equal length, so neither
// the secret's length nor a matching prefix shows in the time an answer takes).

import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";

export const NODE_SECRET_ENV = "SPRIG_NODE_SECRET";
/** long enough that guessing it over the network is hopeless */
export const MIN_SECRET_LENGTH = 16;

export class NodeSecretError extends Error {
  override name = "NodeSecretError";
}

/** The secret from `file` (trimmed), else from the environment; throws with what to do when it is missing or short. */
export function readNodeSecret(file: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  let secret: string;
  if (file !== undefined) {
    try {
      secret = readFileSync(file, "utf8").trim();
    } catch (e) {
      throw new NodeSecretError(`--node-secret-file: cannot read ${file}: ${(e as Error).message}`);
    }
  } else secret = (env[NODE_SECRET_ENV] ?? "").trim();
  const where = file !== undefined ? `the file ${file}` : `$${NODE_SECRET_ENV}`;
  if (!secret)
    throw new NodeSecretError(
      `nodes authenticate each other with a shared secret: set ${NODE_SECRET_ENV} or pass --node-secret-file on every API and worker node (e.g. \`openssl rand -hex 32\`)`,
    );
  if (secret.length < MIN_SECRET_LENGTH)
    throw new NodeSecretError(
      `the node secret in ${where} is ${secret.length} characters; use at least ${MIN_SECRET_LENGTH} (e.g. \`openssl rand -hex 32\`)`,
    );
  return secret;
}

const digest = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest();

/** Whether an Authorization header carries the secret (`Bearer SECRET`), in time independent of where it differs. */
export function secretMatches(header: string | undefined, secret: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? "");
  return timingSafeEqual(digest(m?.[1] ?? ""), digest(secret)) && m !== null;
}

export const authorization = (secret: string): string => `Bearer ${secret}`;
