// The api layer as other layers import it: everything here is what they may use.
export { ApiError, connect, type ConnectionFlags, print, SprigClient, waitFor, withConnection } from "./client.ts";
export { hostErrorBody, installHostErrorHandling } from "./errors.ts";
export { type Service, startService } from "./service.ts";
export { clientGone, openSse } from "./sse.ts";
export { buildNodeListener } from "./node-listener.ts";
