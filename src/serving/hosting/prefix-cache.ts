// The prefix cache: K/V of prompt blocks (blockTokens tokens each) computed before, keyed by a hash chain
// over the blocks from the prompt's start *and* the model that computed them ((IA)³ rescales K and V, LoRA
// may adapt k/v, a full model has other weights: a prefix is never reused under another model). LRU
// within a byte budget; a request whose prompt starts with cached blocks copies them and skips their prefill.

import { createHash } from "node:crypto";
import type { RowKv } from "./row-kv.ts";

interface Block {
  /** this block's chain key: hash(parent key, owner, tokens) */
  readonly key: string;
  readonly parent: string;
  readonly owner: string;
  readonly tokens: readonly number[];
  /** keys and values of the block's positions. (2·L, blockTokens, KVH·D): plane 2l keys, 2l+1 values of layer l */
  readonly kv: Float32Array;
}

export interface PrefixCacheStats {
  budgetBytes: number;
  bytes: number;
  blocks: number;
  blockTokens: number;
  /** prompt tokens whose prefill the cache saved / prompt tokens looked up, since the start */
  hitTokens: number;
  lookedUpTokens: number;
  evictedBlocks: number;
}

const ROOT = "";

export class PrefixCache {
  /** insertion order = recency (oldest first): a hit re-inserts */
  private readonly blocks = new Map<string, Block>();
  private used = 0;
  private hitTokens = 0;
  private lookedUpTokens = 0;
  private evicted = 0;

  constructor(
    readonly blockTokens: number,
    readonly budgetBytes: number,
  ) {
    if (!Number.isInteger(blockTokens) || blockTokens < 1)
      throw new Error(`prefix cache: blockTokens ${blockTokens} must be a positive integer`);
  }

  get enabled(): boolean {
    return this.budgetBytes > 0;
  }

  static chainKey(parent: string, owner: string, tokens: readonly number[]): string {
    return createHash("sha256")
      .update(`${parent}\u0000${owner}\u0000${tokens.join(",")}`)
      .digest("base64url");
  }

  /**
   * The cached blocks at the head of `prompt` under `owner`, longest run first to last, leaving at least one
   * prompt token to compute (its logits start the generation). They become the most recently used.
   */
  match(owner: string, prompt: readonly number[]): Block[] {
    if (!this.enabled) return [];
    const bs = this.blockTokens;
    const found: Block[] = [];
    let parent = ROOT;
    for (let at = 0; at + bs < prompt.length; at += bs) {
      const tokens = prompt.slice(at, at + bs);
      const key = PrefixCache.chainKey(parent, owner, tokens);
      const b = this.blocks.get(key);
      // the stored tokens and parent are compared too, so a hash collision cannot serve another prefix
      if (!b || b.parent !== parent || b.owner !== owner || b.tokens.some((t, i) => t !== tokens[i])) break;
      found.push(b);
      parent = key;
    }
    this.touch(found);
    this.lookedUpTokens += prompt.length;
    this.hitTokens += found.length * bs;
    return found;
  }

  /** Copy matched blocks into positions [0, n·blockTokens) of a row's staging buffer. */
  restore(blocks: readonly Block[], into: RowKv): number {
    const bs = this.blockTokens;
    const w = into.rowFloats;
    blocks.forEach((b, i) => {
      for (let plane = 0; plane < 2 * into.layers; plane++)
        into.data.set(b.kv.subarray(plane * bs * w, (plane + 1) * bs * w), (plane * into.capacity + i * bs) * w);
    });
    return blocks.length * bs;
  }

  /** Store the full blocks of `prompt` whose K/V `from` holds (positions [0, prompt.length)), evicting LRU. */
  insert(owner: string, prompt: readonly number[], from: RowKv): void {
    if (!this.enabled) return;
    const bs = this.blockTokens;
    const w = from.rowFloats;
    const blockBytes = 2 * from.layers * bs * w * 4;
    if (blockBytes > this.budgetBytes) return;
    const chain: Block[] = [];
    let parent = ROOT;
    for (let at = 0; at + bs <= prompt.length; at += bs) {
      const tokens = prompt.slice(at, at + bs);
      const key = PrefixCache.chainKey(parent, owner, tokens);
      let b = this.blocks.get(key);
      if (!b) {
        // the chain so far is made most recent first, so eviction never takes this block's own ancestors
        this.touch(chain);
        while (this.used + blockBytes > this.budgetBytes) {
          // the budget holds no more of this prompt than its cached head: evicting that would orphan the rest
          if (chain.includes(this.blocks.values().next().value!)) return;
          this.evictOldest();
        }
        const kv = new Float32Array(2 * from.layers * bs * w);
        for (let plane = 0; plane < 2 * from.layers; plane++)
          kv.set(from.data.subarray((plane * from.capacity + at) * w, (plane * from.capacity + at + bs) * w), plane * bs * w);
        b = { key, parent, owner, tokens, kv };
        this.blocks.set(key, b);
        this.used += blockBytes;
      }
      chain.push(b);
      parent = key;
    }
    this.touch(chain);
  }

  /**
   * Make a chain the most recently used, its last block first and its first block last: the LRU end then
   * holds the tails of chains, so eviction shortens a cached prefix instead of orphaning its rest.
   */
  private touch(chain: readonly Block[]): void {
    for (let i = chain.length - 1; i >= 0; i--) {
      const b = chain[i]!;
      this.blocks.delete(b.key);
      this.blocks.set(b.key, b);
    }
  }

  /** Forget every block of `owner` (its model was deactivated: its entries can never be hit again). */
  dropOwner(owner: string): void {
    for (const b of [...this.blocks.values()]) if (b.owner === owner) this.remove(b);
  }

  stats(): PrefixCacheStats {
    return {
      budgetBytes: this.budgetBytes,
      bytes: this.used,
      blocks: this.blocks.size,
      blockTokens: this.blockTokens,
      hitTokens: this.hitTokens,
      lookedUpTokens: this.lookedUpTokens,
      evictedBlocks: this.evicted,
    };
  }

  /**
   * A block evicted before its descendants (possible when one chain's root is shared and aged) leaves them
   * unreachable, never wrong: match stops at the first missing block, and they age out in turn.
   */
  private evictOldest(): void {
    const oldest = this.blocks.values().next().value;
    if (!oldest) throw new Error("prefix cache: over budget with no block to evict");
    this.remove(oldest);
    this.evicted++;
  }

  private remove(b: Block): void {
    this.blocks.delete(b.key);
    this.used -= b.kv.length * 4;
  }
}

/** The prefix cache's budget: `prefixCache.bytes`, by default a quarter of kvCacheBytes, at most 256 MiB. */
export function prefixCacheBudget(o: { kvCacheBytes: number; prefixCache: { bytes?: number } }): number {
  return o.prefixCache.bytes ?? Math.min(256 * 2 ** 20, Math.floor(o.kvCacheBytes / 4));
}

/** The engine's prefix cache from its options; null when its budget is 0. */
export function prefixCacheOf(o: { kvCacheBytes: number; prefixCache: { blockTokens: number; bytes?: number } }): PrefixCache | null {
  const bytes = prefixCacheBudget(o);
  return bytes > 0 ? new PrefixCache(o.prefixCache.blockTokens, bytes) : null;
}
