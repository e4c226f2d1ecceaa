// Server-sent events on a fastify reply: headers once, `data: JSON` frames, and an abort signal that
// fires when the client goes away (so generation stops instead of running for nobody).

import type { FastifyReply, FastifyRequest } from "fastify";

export interface SseStream {
  send(data: unknown): void;
  /** a named event: `event: NAME` + `data: JSON` */
  event(name: string, data: unknown): void;
  /** OpenAI's terminator, `data: [DONE]`, then end */
  done(): void;
  /** end the stream without a terminator */
  end(): void;
  signal: AbortSignal;
}

export interface SseOptions {
  /** the content-type header; `sprig host` keeps its historical bare `text/event-stream` */
  contentType?: string;
}

export function openSse(req: FastifyRequest, reply: FastifyReply, o: SseOptions = {}): SseStream {
  const ac = new AbortController();
  reply.raw.on("close", () => {
    if (!reply.raw.writableFinished) ac.abort();
  });
  reply.hijack();
  reply.raw.writeHead(200, {
    "content-type": o.contentType ?? "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
    "opc-request-id": String(req.id),
  });
  // writes after the client left are dropped, not errors
  const write = (frame: string) => void (reply.raw.destroyed || reply.raw.write(frame));
  return {
    send: (data) => write(`data: ${JSON.stringify(data)}\n\n`),
    event: (name, data) => write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`),
    done: () => {
      write("data: [DONE]\n\n");
      reply.raw.end();
    },
    end: () => void reply.raw.end(),
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
