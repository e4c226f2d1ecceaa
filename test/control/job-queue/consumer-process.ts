// A node's fine-tune consumer as a process of its own, for the multi-node queue test:
// `node --import tsx consumer-process.ts <database URL> <node id> <data dir>`. Prints "ready" once it
// consumes; stops cleanly on SIGTERM (a SIGKILL is the test's node crash).

import { startFineTuneConsumer } from "../../../src/control/index.ts";
import type { SprigStore } from "../../../src/control/index.ts";
import { Store } from "../../../src/store/index.ts";

const [url, nodeId, dataDir] = process.argv.slice(2);
if (!url || !nodeId || !dataDir) throw new Error("usage: consumer-process.ts <database URL> <node id> <data dir>");
const store = (await Store.open(dataDir, { database: url })) as SprigStore;
const log = {
  info: (o: object, m?: string) => console.log(JSON.stringify({ nodeId, ...o, msg: m })),
  warn: (o: object, m?: string) => console.log(JSON.stringify({ nodeId, level: "warn", ...o, msg: m })),
  error: (o: object, m?: string) => console.error(JSON.stringify({ nodeId, level: "error", ...o, msg: m })),
};
const consumer = await startFineTuneConsumer({ store, nodeId, log, pollMs: 300, worker: { heartbeatTimeoutMs: 20_000 } });
process.on("SIGTERM", () => {
  void consumer
    .stop()
    .then(() => store.close())
    .then(() => process.exit(0));
});
console.log("ready");
