// Server-sent events on a fastify reply: headers once, `data: JSON` frames, and an abort signal that
// fires when the client goes away (so generation stops instead of running for nobody).

import type { FastifyReply, FastifyRequest } from "fastify";

export interface SseStream {
  send(data: unknown): void;
  /** OpenAI's terminator, `data: [DONE]` */
  done(): void;
  signal: AbortSignal;
}

export function openSse(req: FastifyRequest, reply: FastifyReply): SseStream {
  const ac = new AbortController();
  reply.raw.on("close", () => {
    if (!reply.raw.writableFinished) ac.abort();
  });
  reply.hijack();
  reply.raw.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
    "opc-request-id": String(req.id),
  });
  return {
    send: (data) => void reply.raw.write(`data: ${JSON.stringify(data)}\n\n`),
    done: () => {
      reply.raw.write("data: [DONE]\n\n");
      reply.raw.end();
    },
    signal: ac.signal,
  };
}

/** An abort signal for a non-streaming request: fires if the client disconnects before the answer. */
export function clientGone(reply: FastifyReply): AbortSignal {
  const ac = new AbortController();
  reply.raw.on("close", () => {
    if (!reply.raw.writableFinished) ac.abort();
  });
  return ac.signal;
}
