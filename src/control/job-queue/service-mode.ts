// One service process on PostgreSQL: fine-tunes go through the queue (the control plane's executor), and
// the process consumes the jobs of its own node (the embedded node), so a single machine on PostgreSQL
// runs fine-tunes as before; worker nodes of other machines consume theirs with startFineTuneConsumer.

import type { Logger } from "../config.ts";
import type { SprigStore } from "../context.ts";
import { LOCAL_NODE_ID } from "../nodes.ts";
import type { WorkerOptions } from "../workers/process-executors.ts";
import { type FineTuneConsumer, startFineTuneConsumer } from "./consumer.ts";
import { QueuedFineTune } from "./executor.ts";
import { openFineTuneQueue } from "./queue.ts";

export interface QueuedFineTunes {
  executor: QueuedFineTune;
  /** start consuming the jobs of `nodeId` (default: the embedded node) in this process */
  consume(log: Logger, nodeId?: string): Promise<void>;
  /** stop the consumer (after the control plane closed: it waits for the runs the consumer stops) and the queue */
  close(): Promise<void>;
}

export async function queuedFineTunes(store: SprigStore, worker: WorkerOptions = {}): Promise<QueuedFineTunes> {
  let log: Logger | null = null;
  const queue = await openFineTuneQueue(store, {}, (e) => log?.error({ err: String(e) }, "job queue error"));
  let consumer: FineTuneConsumer | null = null;
  return {
    executor: new QueuedFineTune(queue),
    async consume(l, nodeId = LOCAL_NODE_ID) {
      log = l;
      consumer = await startFineTuneConsumer({ store, queue, nodeId, log: l, worker });
    },
    async close() {
      await consumer?.stop();
      await queue.close();
    },
  };
}
