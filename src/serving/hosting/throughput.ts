// Generated tokens per second over a sliding window, for the engine's stats.

export class Throughput {
  private readonly events: Array<{ t: number; n: number }> = [];

  constructor(private readonly windowMs: number) {}

  add(n: number, t = performance.now()): void {
    if (n <= 0) return;
    this.events.push({ t, n });
    this.trim(t);
  }

  /** tokens per second over the window (over the time since the first event, when that is shorter; at least 1 s) */
  rate(now = performance.now()): number {
    this.trim(now);
    if (!this.events.length) return 0;
    const total = this.events.reduce((s, e) => s + e.n, 0);
    const span = Math.max(1000, Math.min(this.windowMs, now - this.events[0]!.t));
    return (total * 1000) / span;
  }

  private trim(now: number): void {
    let k = 0;
    while (k < this.events.length && this.events[k]!.t < now - this.windowMs) k++;
    if (k) this.events.splice(0, k);
  }
}
