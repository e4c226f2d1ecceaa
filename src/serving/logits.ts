// Whole-vocabulary passes the sampler makes on one row of logits (V floats, V ≤ 2^21): log-sum-exp, top-k
// and sorted candidate lists. They run per row per decode step, so each is one pass without allocation
// proportional to V where it can be, and no comparator sorts.

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
/** token ids below this fit in a sort key (see `key`) */
export const MAX_VOCAB = 2 ** 21;

/**
 * A float64 sort key ordering tokens by logit, descending, then by id, ascending: the float32 logit's bits
 * mapped to an order-preserving uint32 (above), the complemented id (below). Exact: 32 + 21 bits fit a double's 53.
 */
export function key(logit: number, id: number): number {
  F32[0] = logit;
  const u = U32[0]!;
  const ordered = u & 0x80000000 ? ~u >>> 0 : (u | 0x80000000) >>> 0;
  return ordered * MAX_VOCAB + (MAX_VOCAB - 1 - id);
}

export const idOf = (k: number): number => MAX_VOCAB - 1 - (k % MAX_VOCAB);

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  let m = x[0]!;
  for (let i = 1; i < x.length; i++) {
    if (x[i]! > m) {
      m = x[i]!;
      best = i;
    }
  }
  return best;
}

// e^t for t ≤ 0 as 2^k · 2^f (k = trunc(t·log2 e), f ∈ (−1, 0]): a degree-9 series for 2^f and a table of
// 2^k; relative error < 1e-12, about twice as fast as Math.exp in V8
const LN2 = Math.LN2;
const C = Array.from({ length: 10 }, (_, i) => {
  let c = 1;
  for (let j = 1; j <= i; j++) c *= LN2 / j;
  return c;
});
const [C1, C2, C3, C4, C5, C6, C7, C8, C9] = C.slice(1) as number[];
const POW2_NEG = Float64Array.from({ length: 1076 }, (_, k) => 2 ** -k);

function expNonPositive(t: number): number {
  const y = t * Math.LOG2E;
  if (y < -1074) return 0;
  const k = y | 0;
  const f = y - k;
  const p = 1 + f * (C1! + f * (C2! + f * (C3! + f * (C4! + f * (C5! + f * (C6! + f * (C7! + f * (C8! + f * C9!))))))));
  return p * POW2_NEG[-k]!;
}

/** log Σ e^x over the row. */
export function logSumExp(x: ArrayLike<number>): number {
  const n = x.length;
  let m = -Infinity;
  for (let i = 0; i < n; i++) if (x[i]! > m) m = x[i]!;
  if (m === -Infinity || m === Infinity || Number.isNaN(m)) return m;
  let s = 0;
  for (let i = 0; i < n; i++) s += expNonPositive(x[i]! - m);
  return m + Math.log(s);
}

/** Keys (see `key`) of the k best tokens, best first. x: (V) float32 logits */
export function topKKeys(x: Float32Array, k: number): Float64Array {
  checkVocab(x);
  // min-heap of the best k so far; most tokens fail the cheap logit test against its root
  const heap = new Float64Array(k);
  for (let i = 0; i < k; i++) heap[i] = key(x[i]!, i);
  for (let i = (k >> 1) - 1; i >= 0; i--) siftDown(heap, i);
  let floor = x[idOf(heap[0]!)]!;
  for (let i = k; i < x.length; i++) {
    if (x[i]! < floor) continue;
    const kk = key(x[i]!, i);
    if (kk <= heap[0]!) continue;
    heap[0] = kk;
    siftDown(heap, 0);
    floor = x[idOf(heap[0]!)]!;
  }
  return heap.sort().reverse();
}

function siftDown(h: Float64Array, i: number): void {
  const n = h.length;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) return;
    const c = l + 1 < n && h[l + 1]! < h[l]! ? l + 1 : l;
    if (h[c]! >= h[i]!) return;
    const t = h[c]!;
    h[c] = h[i]!;
    h[i] = t;
    i = c;
  }
}

/** Keys of every token whose logit is at least `floor`, best first. x: (V) float32 logits */
export function keysAtLeast(x: Float32Array, floor: number): Float64Array {
  checkVocab(x);
  let n = 0;
  for (let i = 0; i < x.length; i++) if (x[i]! >= floor) n++;
  const keys = new Float64Array(n);
  n = 0;
  for (let i = 0; i < x.length; i++) if (x[i]! >= floor) keys[n++] = key(x[i]!, i);
  return keys.sort().reverse();
}

function checkVocab(x: Float32Array): void {
  if (x.length > MAX_VOCAB) throw new Error(`sampling: a vocabulary of ${x.length} tokens exceeds ${MAX_VOCAB}`);
}
