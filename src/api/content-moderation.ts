// Content moderation of an endpoint's OCI chat and generateText requests (the endpoint's
// `contentModerationConfig {isEnabled, mode}`): a pluggable check — the `ContentModerator` interface, with
// one built-in, a configurable blocklist — run on the request's text before generating and on every
// generated text after. INFORM generates as usual and reports the scores in the response; BLOCK refuses
// a flagged request with 400 "Inappropriate content detected!" and withholds a flagged answer the same way.

import { ServiceError } from "../control/index.ts";
import type { Endpoint } from "../control/index.ts";

/** One category's binary score, as OCI's guardrails report them (0 = no match, 1 = match). */
export interface CategoryScore {
  name: string;
  score: number;
}

/** A check of one text. Any category scoring ≥ 0.5 flags it. */
export interface ContentModerator {
  /** named in reports */
  readonly name: string;
  check(text: string): CategoryScore[];
}

/**
 * The built-in moderator: flags a text that contains a blocklisted term — case-insensitive, as a whole
 * word or phrase (so "class" does not match "ass"). Categories as OCI's: BLOCKLIST (a term matched) and
 * OVERALL (the text is unsafe: here the same signal, the blocklist being the only check).
 */
export class BlocklistModerator implements ContentModerator {
  readonly name = "sprig-blocklist";
  private readonly pattern: RegExp | null;

  constructor(readonly terms: readonly string[]) {
    const words = terms.map((t) => t.trim()).filter((t) => t.length > 0);
    const esc = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\s+/g, "\\s+");
    this.pattern = words.length ? new RegExp(`(?<![\\p{L}\\p{N}])(?:${words.map(esc).join("|")})(?![\\p{L}\\p{N}])`, "iu") : null;
  }

  check(text: string): CategoryScore[] {
    const hit = this.pattern?.test(text) ? 1 : 0;
    return [
      { name: "OVERALL", score: hit },
      { name: "BLOCKLIST", score: hit },
    ];
  }
}

const flagged = (c: CategoryScore[]) => c.filter((x) => x.score >= 0.5).map((x) => x.name);

/** What one request through a moderated endpoint checks and reports. */
export class ModerationRun {
  private input: CategoryScore[] = [];
  private readonly outputs: { index: number; categories: CategoryScore[] }[] = [];

  constructor(
    private readonly moderator: ContentModerator,
    readonly mode: "INFORM" | "BLOCK",
  ) {}

  /** The request's text: BLOCK refuses it when flagged. */
  checkInput(text: string): void {
    this.input = this.moderator.check(text);
    const hit = flagged(this.input);
    if (hit.length && this.mode === "BLOCK")
      throw new ServiceError(400, "InvalidParameter", `Inappropriate content detected! The request was refused (${hit.join(", ")})`);
  }

  /** The generated texts: BLOCK withholds them all when one is flagged. */
  checkOutputs(texts: readonly string[]): void {
    texts.forEach((t, index) => this.outputs.push({ index, categories: this.moderator.check(t) }));
    const hit = this.outputs.filter((o) => flagged(o.categories).length);
    if (hit.length && this.mode === "BLOCK")
      throw new ServiceError(
        400,
        "InvalidParameter",
        `Inappropriate content detected! The generated text was withheld (choice ${hit.map((o) => o.index).join(", ")}: ${[...new Set(hit.flatMap((o) => flagged(o.categories)))].join(", ")})`,
      );
  }

  /** Sprig's `contentModeration` field of the response: the scores of the request and of each answer. */
  report() {
    return { mode: this.mode, moderator: this.moderator.name, input: { categories: this.input }, outputs: this.outputs };
  }
}

/** The run for a request through `e`, or null when its endpoint does not moderate. */
export function moderationFor(moderator: ContentModerator, e: Endpoint): ModerationRun | null {
  const c = e.contentModerationConfig;
  return c?.isEnabled ? new ModerationRun(moderator, c.mode ?? "INFORM") : null;
}
