// The JSON body parser: bytes must be UTF-8 (a stray byte is refused, not decoded to U+FFFD), the text
// JSON, and no key may be `__proto__` or a `constructor.prototype` (prototype poisoning): each refusal
// is a 400 that says which of the three failed, and where.

import type { FastifyInstance } from "fastify";
import { ServiceError } from "../control/index.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

export function parseJsonBody(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw new ServiceError(
      400,
      "InvalidParameter",
      `body: not valid UTF-8 (the first bad byte is at offset ${firstBadByte(raw)}); JSON bodies must be UTF-8`,
    );
  }
  // an empty (or blank) JSON body is no body, as SDKs and curl send action POSTs
  if (text.trim() === "") return undefined;
  let poisoned: string | null = null;
  let value: unknown;
  try {
    value = JSON.parse(text, function (this: unknown, key: string, v: unknown) {
      if (key === "__proto__" || (key === "constructor" && v !== null && typeof v === "object" && Object.hasOwn(v, "prototype")))
        poisoned ??= key;
      return v;
    });
  } catch (e) {
    throw new ServiceError(400, "InvalidParameter", `body: not valid JSON (${(e as Error).message})`);
  }
  if (poisoned !== null)
    throw new ServiceError(
      400,
      "InvalidParameter",
      `body: the key '${poisoned === "__proto__" ? "__proto__" : "constructor.prototype"}' is not allowed in a request`,
    );
  return value;
}

/** Offset of the byte where UTF-8 breaks (a locator for the message: the decoder decides, and does not say where). */
function firstBadByte(b: Uint8Array): number {
  for (let i = 0; i < b.length;) {
    const c = b[i]!;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) if (i + k >= b.length || (b[i + k]! & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return 0;
}

export function installJsonBody(app: FastifyInstance): void {
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer));
    } catch (e) {
      done(e as Error, undefined);
    }
  });
}
