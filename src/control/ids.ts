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

/** What a create request may say about any resource. */
export interface CommonDetails<C extends string | null = string> {
  /** null only for BASE models shared with every compartment */
  compartmentId: C;
  displayName?: string;
  description?: string;
  freeformTags?: Record<string, string>;
  definedTags?: Record<string, Record<string, unknown>>;
}

/** The fields every new resource starts with: its id, scope, names, tags and timestamps. */
export function commonFields<C extends string | null>(
  id: string,
  d: CommonDetails<C>,
  defaultName: string,
  lifecycleDetails: string | null,
  t: string,
) {
  return {
    id,
    compartmentId: d.compartmentId,
    displayName: d.displayName ?? defaultName,
    description: d.description ?? null,
    lifecycleDetails,
    timeCreated: t,
    timeUpdated: t,
    freeformTags: d.freeformTags ?? {},
    definedTags: d.definedTags ?? {},
  };
}
