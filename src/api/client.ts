// A small HTTP client for Sprig's API (used by the CLI): JSON in and out, API-key auth, errors carrying
// the server's status, code and message.

export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ClientOptions {
  /** base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  apiKey: string;
}

export class SprigClient {
  constructor(private readonly o: ClientOptions) {}

  async raw(method: string, path: string, body?: BodyInit, headers: Record<string, string> = {}): Promise<Response> {
    let r: Response;
    try {
      r = await fetch(this.o.url.replace(/\/$/, "") + path, {
        method,
        headers: { authorization: `Bearer ${this.o.apiKey}`, ...headers },
        body,
        duplex: "half",
      } as RequestInit);
    } catch (e) {
      throw new ApiError(
        0,
        "ConnectionFailed",
        `cannot reach Sprig at ${this.o.url} (${(e as Error).cause ?? (e as Error).message}): is \`sprig serve\` running?`,
      );
    }
    if (!r.ok) {
      const text = await r.text();
      let code = "Error";
      let message = text || r.statusText;
      try {
        const j = JSON.parse(text) as { code?: string; message?: string; error?: { message: string; code?: string } };
        code = j.code ?? j.error?.code ?? code;
        message = j.message ?? j.error?.message ?? message;
      } catch {
        // not JSON: keep the text
      }
      throw new ApiError(r.status, code, message);
    }
    return r;
  }

  async json<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<{ body: T; headers: Headers }> {
    const r = await this.raw(
      method,
      path,
      body === undefined ? undefined : JSON.stringify(body),
      body === undefined ? {} : { "content-type": "application/json" },
    );
    const text = await r.text();
    return { body: (text ? JSON.parse(text) : null) as T, headers: r.headers };
  }

  /** Every item of a paginated list. */
  async all<T>(path: string): Promise<T[]> {
    const out: T[] = [];
    let page: string | null = null;
    do {
      const sep = path.includes("?") ? "&" : "?";
      const r: { body: { items: T[] }; headers: Headers } = await this.json(
        "GET",
        page ? `${path}${sep}page=${encodeURIComponent(page)}` : path,
      );
      out.push(...r.body.items);
      page = r.headers.get("opc-next-page");
    } while (page);
    return out;
  }

  /** Server-sent events of a POST: calls `onData` with each JSON frame until `[DONE]` or the end. */
  async sse(path: string, body: unknown, onData: (d: Record<string, unknown>) => void): Promise<void> {
    const r = await this.raw("POST", path, JSON.stringify(body), { "content-type": "application/json", accept: "text/event-stream" });
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const frame = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = frame
          .split("\n")
          .filter((l) => l.startsWith("data: "))
          .map((l) => l.slice(6))
          .join("\n");
        if (!data || data === "[DONE]") continue;
        const d = JSON.parse(data) as Record<string, unknown>;
        if (d.error) throw new ApiError(500, "StreamError", (d.error as { message: string }).message);
        onData(d);
      }
    }
  }
}

/** Connection flags shared by the CLI's client commands; SPRIG_URL and SPRIG_API_KEY are the defaults. */
export interface ConnectionFlags {
  url?: string;
  apiKey?: string;
}

export function connect(f: ConnectionFlags): SprigClient {
  const url = f.url ?? process.env.SPRIG_URL ?? "http://127.0.0.1:8080";
  const apiKey = f.apiKey ?? process.env.SPRIG_API_KEY;
  if (!apiKey)
    throw new ApiError(
      0,
      "NotAuthenticated",
      "give --api-key or set SPRIG_API_KEY (create a key with `sprig key create --compartment-id ID`)",
    );
  return new SprigClient({ url, apiKey });
}

/** Add --url and --api-key to a commander command. */
export function withConnection<T extends { option(flags: string, description: string): T }>(cmd: T): T {
  return cmd
    .option("--url <url>", "the service (default $SPRIG_URL or http://127.0.0.1:8080)")
    .option("--api-key <key>", "API key (default $SPRIG_API_KEY)");
}

export const print = (v: unknown): void => void process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);

/** Poll a resource until its lifecycleState is one of `states`; `onPoll` sees each read. */
export async function waitFor(
  client: SprigClient,
  path: string,
  states: string[],
  onPoll?: (r: Record<string, unknown>) => void | Promise<void>,
  intervalMs = 500,
): Promise<Record<string, unknown>> {
  for (;;) {
    const { body } = await client.json("GET", path);
    await onPoll?.(body);
    if (states.includes(String(body.lifecycleState))) return body;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
