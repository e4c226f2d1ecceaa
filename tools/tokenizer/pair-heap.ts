// A binary max-heap of (pair key, count) for the BPE trainer: highest count first, ties to the smallest
// key (left id, then right id). Entries go stale as counts change; the trainer re-checks on pop.

export interface PairEntry {
  key: number;
  count: number;
}

const before = (x: PairEntry, y: PairEntry): boolean => x.count > y.count || (x.count === y.count && x.key < y.key);

export class PairHeap {
  private readonly items: PairEntry[] = [];

  get size(): number {
    return this.items.length;
  }

  push(key: number, count: number): void {
    const h = this.items;
    h.push({ key, count });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  pop(): PairEntry | undefined {
    const h = this.items;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
