// The PostgreSQL job queue of fine-tunes (pg-boss): the control plane's executor that queues a run for the
// node holding its unit, the node's consumer that claims and runs it, and the re-queue hook of node loss.
export { type FineTuneJobData, type FineTuneQueue, type QueueSettings, type QueuedJob, type RunLock } from "./queue.ts";
export { PgBossQueue, openFineTuneQueue, queueOf } from "./queue.ts";
export { QueuedFineTune, type QueuedExecutorOptions, outcomeOfJob } from "./executor.ts";
export { type ConsumerOptions, type FineTuneConsumer, startFineTuneConsumer } from "./consumer.ts";
export { type RequeueOptions, type RequeueResult, requeueJobsOfNode } from "./requeue.ts";
export { type QueuedFineTunes, queuedFineTunes } from "./service-mode.ts";
