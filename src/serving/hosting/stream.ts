// The streaming face of a request: an async generator of token events and one final "done" event.
// Breaking out of the loop (e.g. a client disconnect) cancels the request.

import type { HostedGeneration, HostedRequest, TokenEvent } from "./hosted-request.ts";

export type StreamEvent = { type: "token"; token: TokenEvent } | { type: "done"; generation: HostedGeneration };

/**
 * `start(onToken, signal)` queues the request (and throws synchronously when it is refused); the
 * returned generator yields its events. `outer` (the caller's signal) cancels it too.
 */
export function streamOf(
  start: (onToken: (t: TokenEvent) => void, signal: AbortSignal) => HostedRequest,
  outer?: AbortSignal,
): AsyncGenerator<StreamEvent, void, undefined> {
  const ac = new AbortController();
  if (outer?.aborted) ac.abort();
  const unlink = () => outer?.removeEventListener("abort", onOuter);
  const onOuter = () => ac.abort();
  outer?.addEventListener("abort", onOuter, { once: true });
  const events: StreamEvent[] = [];
  let notify: (() => void) | null = null;
  let req: HostedRequest;
  try {
    req = start((token) => {
      events.push({ type: "token", token });
      notify?.();
    }, ac.signal);
  } catch (e) {
    unlink();
    throw e;
  }
  let end: { error: Error } | { generation: HostedGeneration } | null = null;
  req.done
    .then(
      (generation) => (end = { generation }),
      (error: Error) => (end = { error }),
    )
    .finally(() => notify?.());
  return (async function* () {
    try {
      for (;;) {
        while (events.length) yield events.shift()!;
        const e = end as { error: Error } | { generation: HostedGeneration } | null;
        if (e && "error" in e) throw e.error;
        if (e) {
          yield { type: "done", generation: e.generation };
          return;
        }
        await new Promise<void>((resolve) => (notify = resolve));
        notify = null;
      }
    } finally {
      unlink();
      if (!req.settled) ac.abort();
    }
  })();
}
