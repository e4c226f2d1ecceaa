// Per-request constrained decoding: which token ids may come next so the output stays a prefix of a
// document the schema accepts, and can still be closed within the tokens left. `allows` checks one id
// (the sampler's fast path); `mask` walks the token trie from the current configurations, or reuses the
// walk of an equivalent configuration (same signature) made for this schema and vocabulary before.

import { type Stack, canEnd, finished, initial, minClose, minLen, signature, step } from "./json-automaton.ts";
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
/** memory for cached trie walks per (schema, vocabulary) */
const WALK_CACHE_BYTES = 32 * 2 ** 20;
const NO = 0x7fff;

/** One trie walk: for each id, the change of `minClose` it causes, or NO when it is refused. */
type Walk = Int16Array;

const walks = new WeakMap<SchemaNode, WeakMap<TokenBytes, Map<string, Walk>>>();
function walkCache(root: SchemaNode, vocab: TokenBytes): Map<string, Walk> {
  let byVocab = walks.get(root);
  if (!byVocab) walks.set(root, (byVocab = new WeakMap()));
  let m = byVocab.get(vocab);
  if (!m) byVocab.set(vocab, (m = new Map()));
  return m;
}

const closeOf = (states: readonly Stack[]): number => {
  let best = Infinity;
  for (const s of states) best = Math.min(best, minClose(s));
  return best;
};

function advanceAll(states: readonly Stack[], b: number): Stack[] {
  if (states.length === 1) return step(states[0]!, b);
  const next: Stack[] = [];
  for (const s of states) for (const n of step(s, b)) if (next.length < MAX_CONFIGS) next.push(n);
  return next;
}

/** A string frame between characters, with room for any token and its minimum length reached. */
function roomyString(s: Stack, maxLen: number): boolean {
  const f = s.f;
  return f.t === "str" && f.s.cont === 0 && f.s.esc === 0 && f.node.maxLength - f.s.len > maxLen && f.s.len >= f.node.minLength;
}

/** the string frame `s` after k more plain characters */
function lengthen(s: Stack, k: number): Stack {
  const f = s.f as Extract<Stack["f"], { t: "str" }>;
  return { f: { ...f, s: { len: f.s.len + k, cont: 0, esc: 0 } }, up: s.up, depth: s.depth };
}

export class JsonMatcher implements TokenConstraint {
  private states: Stack[];
  /** tokens that may still follow the one being chosen (the sequence updates it every step) */
  budget = Infinity;
  private readonly cache: Map<string, Walk>;
  private readonly maxWalks: number;

  constructor(
    private readonly vocab: TokenBytes,
    root: SchemaNode,
    private readonly stopIds: ReadonlySet<number>,
  ) {
    this.states = [initial(root)];
    this.cache = walkCache(root, vocab);
    this.maxWalks = Math.max(16, Math.floor(WALK_CACHE_BYTES / (2 * vocab.bytes.length)));
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

  private run(states: Stack[], bytes: Uint8Array): Stack[] {
    let cur = states;
    for (const b of bytes) {
      cur = advanceAll(cur, b);
      if (!cur.length) return cur;
    }
    return cur;
  }

  allows(id: number): boolean {
    if (this.stopIds.has(id)) return this.canEnd;
    const bytes = this.vocab.bytes[id];
    if (!bytes) return false;
    const next = this.run(this.states, bytes);
    return next.length > 0 && (this.budget === Infinity || closeOf(next) <= this.budget);
  }

  /** The walk for the current configurations: cached by signature (least recently used dropped first). */
  private walk(): { walk: Walk; base: number } {
    const base = closeOf(this.states);
    const key = this.states.map((s) => signature(s, this.vocab.maxLen)).join("#");
    let walk = this.cache.get(key);
    if (walk) {
      this.cache.delete(key);
    } else {
      const w = new Int16Array(this.vocab.bytes.length).fill(NO);
      const maxLen = this.vocab.maxLen;
      const visit = (node: TrieNode, states: Stack[]): void => {
        const only = states.length === 1 ? states[0]! : null;
        if (only && roomyString(only, maxLen)) return visitString(node, only, 0);
        for (const [b, child] of node.children) {
          const next = advanceAll(states, b);
          if (!next.length) continue;
          if (child.ids.length) {
            const d = Math.max(-NO + 1, Math.min(NO - 1, closeOf(next) - base));
            for (const id of child.ids) w[id] = d;
          }
          visit(child, next);
        }
      };
      // inside a string with room for any token, plain bytes only lengthen it: no state is built for them
      // (this is where most of a document's tokens are, and most of a vocabulary)
      const visitString = (
        node: TrieNode,
        at: Stack,
        k: number,
        plain = Math.max(-NO + 1, Math.min(NO - 1, minClose(at) - base)),
      ): void => {
        for (const [b, child] of node.children) {
          if (b >= 0x20 && b < 0x80 && b !== 0x22 && b !== 0x5c) {
            for (const id of child.ids) w[id] = plain;
            visitString(child, at, k + 1, plain);
            continue;
          }
          const here = k ? lengthen(at, k) : at;
          const next = step(here, b);
          if (!next.length) continue;
          if (child.ids.length) {
            const d = Math.max(-NO + 1, Math.min(NO - 1, closeOf(next) - base));
            for (const id of child.ids) w[id] = d;
          }
          visit(child, next);
        }
      };
      visit(this.vocab.trie, this.states);
      walk = w;
      if (this.cache.size >= this.maxWalks) this.cache.delete(this.cache.keys().next().value!);
    }
    this.cache.set(key, walk);
    return { walk, base };
  }

  mask(): Uint8Array {
    const { walk, base } = this.walk();
    const out = new Uint8Array(walk.length);
    const limit = this.budget - base;
    let any = false;
    for (let id = 0; id < walk.length; id++) {
      const d = walk[id]!;
      if (d !== NO && d <= limit) {
        out[id] = 1;
        any = true;
      }
    }
    if (!any) {
      // the closing estimate is a bound, not exact: rather than dead-end, drop it for this step
      for (let id = 0; id < walk.length; id++) if (walk[id] !== NO) out[id] = 1;
    }
    if (this.canEnd) for (const id of this.stopIds) if (id < out.length) out[id] = 1;
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
