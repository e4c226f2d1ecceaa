// OCID-like identifiers: `ocid1.<resource type>.sprig..<random>`, as OCI's, so client code that keys on
// the prefix keeps working.

import { randomBytes } from "node:crypto";

export type ResourceType = "generativeaidedicatedaicluster" | "generativeaimodel" | "generativeaiendpoint" | "generativeaiworkrequest";

export function ocid(type: ResourceType): string {
  // 20 bytes base32-ish (lowercase letters and digits), like OCI's unique part
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  const bytes = randomBytes(30);
  let s = "";
  for (const b of bytes) s += alphabet[b & 31];
  return `ocid1.${type}.sprig..${s}`;
}

export const now = (): string => new Date().toISOString();
