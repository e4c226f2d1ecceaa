// Per-request constrained decoding: which token ids may come next so the output stays a prefix of a
// document the schema accepts, and can still be closed within the tokens left. `allows` checks one id
// (the sampler's fast path); `mask` walks the token trie once from the current configurations.

import { type Stack, canEnd, finished, initial, minClose, minLen, step } from "./json-automaton.ts";
import type { SchemaNode } from "./schema.ts";
import type { TokenBytes, TrieNode } from "./token-bytes.ts";

/** What the sampler asks of a constraint. */
export interface TokenConstraint {
  allows(id: number): boolean;
  /** 1 where an id is allowed; all zero when nothing is */
  mask(): Uint8Array;
}

/** configurations kept at once (unions and enum values multiply them) */
const MAX_CONFIGS = 64;

export class JsonMatcher implements TokenConstraint {
  private states: Stack[];
  /** tokens that may still follow the one being chosen (the sequence updates it every step) */
  budget = Infinity;

  constructor(
    private readonly vocab: TokenBytes,
    root: SchemaNode,
    private readonly stopIds: ReadonlySet<number>,
  ) {
    this.states = [initial(root)];
  }

  /** Fewest bytes of any document (each can be one token with a byte-level vocabulary). */
  static shortest(root: SchemaNode): number {
    return minLen(root);
  }

  /** The document is complete: nothing but the end may follow. */
  get finished(): boolean {
    return this.states.some(finished);
  }

  get canEnd(): boolean {
    return this.states.some(canEnd);
  }

  private closable(states: Stack[]): boolean {
    return this.budget === Infinity || states.some((s) => minClose(s) <= this.budget);
  }

  private run(states: Stack[], bytes: Uint8Array): Stack[] {
    let cur = states;
    for (const b of bytes) {
      cur = cur.flatMap((s) => step(s, b));
      if (!cur.length) return cur;
      if (cur.length > MAX_CONFIGS) cur = cur.slice(0, MAX_CONFIGS);
    }
    return cur;
  }

  allows(id: number): boolean {
    if (this.stopIds.has(id)) return this.canEnd;
    const bytes = this.vocab.bytes[id];
    if (!bytes) return false;
    const next = this.run(this.states, bytes);
    return next.length > 0 && this.closable(next);
  }

  mask(): Uint8Array {
    const out = new Uint8Array(this.vocab.bytes.length);
    let any = false;
    const visit = (node: TrieNode, states: Stack[]) => {
      for (const [b, child] of node.children) {
        let next = states.flatMap((s) => step(s, b));
        if (!next.length) continue;
        if (next.length > MAX_CONFIGS) next = next.slice(0, MAX_CONFIGS);
        if (child.ids.length && this.closable(next)) {
          for (const id of child.ids) out[id] = 1;
          any = true;
        }
        visit(child, next);
      }
    };
    visit(this.vocab.trie, this.states);
    if (this.canEnd) {
      for (const id of this.stopIds) if (id < out.length) out[id] = 1;
      any ||= this.stopIds.size > 0;
    }
    if (!any && this.budget !== Infinity) {
      // the closing estimate is a bound, not exact: rather than dead-end, drop it for this step
      const keep = this.budget;
      this.budget = Infinity;
      const relaxed = this.mask();
      this.budget = keep;
      return relaxed;
    }
    return out;
  }

  /** Feed the chosen (non-stop) token. */
  advance(id: number): void {
    const bytes = this.vocab.bytes[id];
    const next = bytes ? this.run(this.states, bytes) : [];
    if (!next.length) throw new Error(`constrained decoding: token ${id} does not continue the document`);
    this.states = next;
  }
}
