// Several machines: the worker node's agent, the API node's remote hosting executor and node-loss handling,
// the internal protocol between them, the node secret and the fine-tune scheduler lease.
export { NodeAgent, type NodeAgentOptions, type NodeAgentRegistry, type NodeService } from "./node-agent.ts";
export { RemoteHosting, type RemoteHostingOptions, type NodeDirectory } from "./remote-hosting.ts";
export {
  type LossReport,
  type MultiNodeSettings,
  MultiNodeSettingsSchema,
  type NodeLossHooks,
  NodeLossMonitor,
  NO_NODE,
  isLive,
  missingUnits,
  nodesToDeclareLost,
  sameUnits,
} from "./node-loss.ts";
export * from "./protocol.ts";
export { MIN_SECRET_LENGTH, NODE_SECRET_ENV, NodeSecretError, authorization, readNodeSecret, secretMatches } from "./secret.ts";
export { LocalLease, type PgLeaseOptions, PgSchedulerLease, type SchedulerLease, schedulerLease } from "./scheduler-lease.ts";
