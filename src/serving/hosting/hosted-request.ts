// One request inside the hosting engine: its decoding state, where it runs, its promise and stream
// callback, and its timings. Settles exactly once: finished, or rejected (cancelled, failed).

import type { HostingError } from "./errors.ts";
import type { RowAdapter } from "./adapter-tables.ts";
import type { RowKv } from "./row-kv.ts";
import type { Generation, Sequence } from "../sequence.ts";

export interface TokenEvent {
  /** position of this token in the output (0 = first generated token) */
  index: number;
  id: number;
  /** text delta ("" without a tokenizer; may be "" while a multi-byte character is incomplete) */
  text: string;
  logprob: number;
}

export interface HostedGeneration extends Generation {
  /** the adapter or model that served it; null = the base model */
  model: string | null;
  promptTokens: number;
  /** milliseconds from submit: until admitted to the batch, until the first token, until done */
  timings: { queuedMs: number; firstTokenMs: number | null; totalMs: number };
}

/** What the engine keeps per hosted model (base, adapter or full model) that a request needs. */
export interface RequestTarget {
  readonly name: string | null;
  /** table rows of this request's adapter (0, 0 for the base and full models) */
  readonly rows: RowAdapter;
  /** whose K/V this model computes, for the prefix cache: unique per activation (base, adapter, full model) */
  readonly cacheKey: string;
}

let nextId = 1;

export class HostedRequest {
  readonly id = nextId++;
  readonly submitted = performance.now();
  admitted: number | null = null;
  firstToken: number | null = null;
  state: "queued" | "running" | "settled" = "queued";
  /** while prefilling: the prompt's K/V so far (cached prefix blocks, then chunks); null once in the batch */
  kv: RowKv | null = null;
  /** prompt positions held in `kv` */
  prefilled = 0;
  private settle: { resolve: (g: HostedGeneration) => void; reject: (e: Error) => void } | null = null;
  readonly done: Promise<HostedGeneration>;

  constructor(
    readonly target: RequestTarget,
    readonly seq: Sequence,
    private readonly onToken: ((t: TokenEvent) => void) | undefined,
    /** called once when the request settles (the engine's bookkeeping); `error` when it failed */
    private readonly onSettled: (r: HostedRequest, error: Error | null) => void,
  ) {
    this.done = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    // callers that only stream may never await `done`; a rejection must not go unhandled
    this.done.catch(() => {});
  }

  get settled(): boolean {
    return this.state === "settled";
  }

  /** Let the sequence pick its next token and stream it. A throwing callback cancels the request. */
  accept(logits: Float32Array, logSumExp?: number): void {
    if (this.settled) return;
    this.seq.accept(
      logits,
      (id, text, logprob) => {
        this.firstToken ??= performance.now();
        try {
          this.onToken?.({ index: this.seq.out.ids.length - 1, id, text, logprob });
        } catch (e) {
          this.fail(e instanceof Error ? e : new Error(String(e)));
        }
      },
      logSumExp,
    );
    if (this.seq.done) this.finish();
  }

  finish(): void {
    if (this.settled) return;
    this.state = "settled";
    const now = performance.now();
    const g: HostedGeneration = {
      ...this.seq.out,
      model: this.target.name,
      promptTokens: this.seq.prompt.length,
      timings: {
        queuedMs: (this.admitted ?? now) - this.submitted,
        firstTokenMs: this.firstToken === null ? null : this.firstToken - this.submitted,
        totalMs: now - this.submitted,
      },
    };
    this.onSettled(this, null);
    this.settle!.resolve(g);
  }

  /** Reject now; the engine drops the row from its batch at the next step boundary. */
  fail(e: HostingError | Error): void {
    if (this.settled) return;
    this.state = "settled";
    this.onSettled(this, e);
    this.settle!.reject(e);
  }
}
