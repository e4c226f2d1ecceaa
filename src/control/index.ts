// The control layer's public surface.
export { ControlPlane, type ControlPlaneOptions } from "./control-plane.ts";
export { type ActiveEndpoint, type InferenceCounters } from "./inference.ts";
export { EndpointUsage } from "./usage.ts";
export { TrainingConfigDefaults, trainingConfigDefaults } from "./training-defaults.ts";
export { TrainingDataValidation, ValidateTrainingDataDetails } from "./dataset-check.ts";
export { type ControlConfig, type ControlConfigInput, ControlConfigSchema, type Logger, silentLogger } from "./config.ts";
export { type Scope, type SprigStore, type Page } from "./context.ts";
export { ServiceError, type ErrorCode, asServiceError, badRequest, notFound, conflict } from "./errors.ts";
export * from "./executors.ts";
export * from "./resources.ts";
export * from "./requests.ts";
export { UNIT_SHAPES, DEFAULT_UNIT_SHAPE, type UnitShape, shape, memoryBudget } from "./shapes.ts";
export { type LocalNodeSettings, LocalNodeSettingsSchema, LOCAL_NODE_ID, type NodeRegistry, localNode } from "./nodes.ts";
export { Capacity, type CapacityView } from "./capacity.ts";
export { cpuList, parseCpuList, place, freeCapacity, type NodeCapacity, type UnitReservation, type Placement } from "./placement.ts";
export { ExportModelDetails, ModelExport } from "./model-export.ts";
export * from "./tool-calls.ts";
export { Idempotency, type RetryDecision, type StoredAnswer } from "./idempotency.ts";
export {
  ChangeDedicatedAiClusterCompartmentDetails,
  ChangeEndpointCompartmentDetails,
  ChangeModelCompartmentDetails,
} from "./compartment-moves.ts";
export { onDemandEndpoint } from "./on-demand.ts";
export { loadPool, loadPrompt, measure, unitsFor } from "./workers/unit-throughput.ts";
export { processExecutors } from "./workers/process-executors.ts";
/** the hosting workers' weight formats (`sprig serve --hosting-weights`) */
export { WEIGHT_FORMATS, type WeightFormat } from "../models/index.ts";
export * from "./multi-node/index.ts";
export {
  type ConsumerOptions,
  type FineTuneConsumer,
  type FineTuneQueue,
  type RequeueResult,
  openFineTuneQueue,
  queuedFineTunes,
  requeueJobsOfNode,
  startFineTuneConsumer,
} from "./job-queue/index.ts";
