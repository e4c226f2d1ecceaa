// The resources of the service as zod schemas (OCI Generative AI's fields, enums and lifecycle states),
// used for the stored documents, the API's responses and the OpenAPI document alike.

import { z } from "zod";
import { AUTO_KEYS, TrainingConfigSchema } from "../training/index.ts";

export const Tags = z.record(z.string(), z.string()).describe("free-form key/value tags");
export const DefinedTags = z.record(z.string(), z.record(z.string(), z.unknown())).describe("tags by namespace");

// NEEDS_ATTENTION (OCI's): the cluster exists but some of its units cannot run (no node had room for them, or
// its hosting workers could not be started); lifecycleDetails says why and what an operator can do
export const ClusterState = z.enum(["CREATING", "ACTIVE", "UPDATING", "DELETING", "DELETED", "FAILED", "NEEDS_ATTENTION"]);
export const ModelState = z.enum(["CREATING", "ACTIVE", "DELETING", "DELETED", "FAILED"]);
export const EndpointState = z.enum(["CREATING", "ACTIVE", "INACTIVE", "UPDATING", "DELETING", "DELETED", "FAILED"]);
export const ClusterType = z.enum(["FINE_TUNING", "HOSTING"]);
export const TrainingConfigType = z.enum(["TFEW_TRAINING_CONFIG", "LORA_TRAINING_CONFIG", "VANILLA_TRAINING_CONFIG"]);

const common = {
  id: z.string(),
  compartmentId: z.string().nullable().describe("null for models every compartment sees (the bundled base model)"),
  displayName: z.string(),
  description: z.string().nullable(),
  lifecycleDetails: z.string().nullable().describe("why the resource is in its state (e.g. the reason of FAILED)"),
  timeCreated: z.string(),
  timeUpdated: z.string(),
  freeformTags: Tags,
  definedTags: DefinedTags,
};

export const HostingCapacity = z.object({
  capacityType: z.literal("HOSTING_CAPACITY"),
  totalEndpointCapacity: z.number().int(),
  usedEndpointCapacity: z.number().int(),
});

export const ClusterUnit = z
  .object({
    unitIndex: z.number().int().describe("0 … unitCount-1"),
    nodeId: z.string().describe("the node the unit is reserved on"),
    nodeName: z.string(),
    cores: z.array(z.number().int()).describe("the CPU ids reserved for the unit: its worker process is pinned to them"),
    memoryBytes: z.number().int().describe("the unit's memory budget"),
    pinned: z.boolean().describe("false when the node cannot pin processes (then the cores are only accounted)"),
  })
  .meta({ id: "ClusterUnit" });
export type ClusterUnit = z.infer<typeof ClusterUnit>;

export const DedicatedAiCluster = z
  .object({
    ...common,
    type: ClusterType,
    unitShape: z.string(),
    unitCount: z.number().int(),
    capacity: HostingCapacity.nullable().describe("HOSTING clusters only"),
    lifecycleState: ClusterState,
    /** Sprig: the base model a HOSTING cluster serves, fixed by its first endpoint (null while empty) */
    baseModelId: z.string().nullable(),
    /** Sprig: where each unit runs (computed on read; empty once the cluster is DELETED or FAILED) */
    units: z.array(ClusterUnit).optional().describe("Sprig: where each unit runs: node, reserved cores, memory budget"),
  })
  .meta({ id: "DedicatedAiCluster" });
export type DedicatedAiCluster = z.infer<typeof DedicatedAiCluster>;

export const ObjectStorageDataset = z
  .strictObject({
    datasetType: z.literal("OBJECT_STORAGE"),
    namespaceName: z.string().min(1).max(256),
    bucketName: z.string().min(1).max(256),
    objectName: z.string().min(1).max(1024),
  })
  .meta({ id: "ObjectStorageDataset" });

/**
 * Hyperparameters under OCI's names (plus Sprig's own seed, validation split and checkpoint interval): the
 * trainer's own schema, so bounds live in one place, narrowed to what the API exposes.
 */
export const TrainingConfig = TrainingConfigSchema.pick({
  totalTrainingEpochs: true,
  learningRate: true,
  trainingBatchSize: true,
  earlyStoppingPatience: true,
  earlyStoppingThreshold: true,
  logModelMetricsIntervalInSteps: true,
  loraR: true,
  loraAlpha: true,
  loraDropout: true,
  numOfLastLayers: true,
  seed: true,
  validationSplit: true,
  checkpointEveryNSteps: true,
})
  .extend({ trainingConfigType: TrainingConfigType })
  .meta({ id: "TrainingConfig" });
export type TrainingConfig = z.infer<typeof TrainingConfig>;

export const FineTuneDetails = z
  .strictObject({
    trainingDataset: ObjectStorageDataset,
    validationDataset: ObjectStorageDataset.optional().describe(
      "Sprig: a separate validation set (default: validationSplit of trainingDataset held out)",
    ),
    dedicatedAiClusterId: z.string().min(1),
    trainingConfig: TrainingConfig.optional().describe("default: T-Few with its defaults"),
  })
  .meta({ id: "FineTuneDetails" });
export type FineTuneDetails = z.infer<typeof FineTuneDetails>;

export const ModelMetrics = z.object({
  modelMetricsType: z.literal("TEXT_GENERATION_MODEL_METRICS"),
  finalAccuracy: z.number().nullable(),
  finalLoss: z.number().nullable(),
  resolvedHyperparameters: z
    .record(z.enum(AUTO_KEYS), z.number())
    .optional()
    .describe('Sprig: what the trainingConfig settings that were "auto" (given so or left out) resolved to for this dataset'),
});

export const Model = z
  .object({
    ...common,
    type: z.enum(["BASE", "CUSTOM"]),
    baseModelId: z.string().nullable().describe("CUSTOM: the model it was fine-tuned from (BASE or CUSTOM)"),
    vendor: z.string(),
    version: z.string(),
    capabilities: z.array(z.enum(["TEXT_GENERATION", "CHAT", "FINE_TUNE"])),
    fineTuneDetails: FineTuneDetails.nullable(),
    modelMetrics: ModelMetrics.nullable(),
    lifecycleState: ModelState,
    isLongTermSupported: z.boolean(),
    /** Sprig: the BASE model at the root of this model's lineage (itself for a BASE model) */
    rootBaseModelId: z.string(),
    /** Sprig: architecture (config.json model_type), e.g. llama */
    architecture: z.string(),
    /** Sprig: ADAPTER (T-Few/LoRA) or FULL (a whole model: BASE or vanilla fine-tune) */
    artifactType: z.enum(["ADAPTER", "FULL"]),
    /** Sprig: trainable parameters of a fine-tune (null until known) */
    trainableParameters: z.number().int().nullable(),
    /** Sprig: BASE models: how many parameters (weights) the model has; null for CUSTOM models (see trainableParameters) */
    parameterCount: z.number().int().nullable().optional(),
    /** Sprig: bytes of the model's weight files (*.safetensors: a whole model, or just the adapter); null until known */
    artifactBytes: z.number().int().nullable().optional(),
    /** Sprig: where the model's files are (a Hugging Face directory, or a PEFT adapter directory) */
    artifactPath: z.string().nullable(),
  })
  .meta({ id: "Model" });
export type Model = z.infer<typeof Model>;

export const Endpoint = z
  .object({
    ...common,
    modelId: z.string(),
    dedicatedAiClusterId: z.string(),
    contentModerationConfig: z
      .object({ isEnabled: z.boolean(), mode: z.enum(["INFORM", "BLOCK"]).optional() })
      .nullable()
      .describe("checks of OCI chat and generateText through the endpoint (docs/api.md, Content moderation)"),
    lifecycleState: EndpointState,
  })
  .meta({ id: "Endpoint" });
export type Endpoint = z.infer<typeof Endpoint>;

export const OperationType = z.enum([
  "CREATE_DEDICATED_AI_CLUSTER",
  "UPDATE_DEDICATED_AI_CLUSTER",
  "DELETE_DEDICATED_AI_CLUSTER",
  "CREATE_MODEL",
  "UPDATE_MODEL",
  "DELETE_MODEL",
  "CREATE_ENDPOINT",
  "UPDATE_ENDPOINT",
  "DELETE_ENDPOINT",
  "ACTIVATE_ENDPOINT",
  "DEACTIVATE_ENDPOINT",
  // Change…Compartment (compartment-moves.ts)
  "MOVE_DEDICATED_AI_CLUSTER",
  "MOVE_MODEL",
  "MOVE_ENDPOINT",
]);
export type OperationType = z.infer<typeof OperationType>;
export const WorkRequestStatus = z.enum(["ACCEPTED", "IN_PROGRESS", "WAITING", "SUCCEEDED", "FAILED", "CANCELING", "CANCELED"]);
export type WorkRequestStatus = z.infer<typeof WorkRequestStatus>;

export const WorkRequestResource = z.object({
  entityType: z.enum(["DedicatedAiCluster", "Model", "Endpoint"]),
  actionType: z.enum(["CREATED", "UPDATED", "DELETED", "IN_PROGRESS", "RELATED", "FAILED"]),
  identifier: z.string(),
  entityUri: z.string(),
});
export type WorkRequestResource = z.infer<typeof WorkRequestResource>;

export const WorkRequest = z
  .object({
    id: z.string(),
    compartmentId: z.string().nullable(),
    operationType: OperationType,
    status: WorkRequestStatus,
    percentComplete: z.number(),
    resources: z.array(WorkRequestResource),
    timeAccepted: z.string(),
    timeStarted: z.string().nullable(),
    timeFinished: z.string().nullable(),
  })
  .meta({ id: "WorkRequest" });
export type WorkRequest = z.infer<typeof WorkRequest>;

export const WorkRequestError = z.object({ code: z.string(), message: z.string(), timestamp: z.string() });
export const WorkRequestLog = z.object({ message: z.string(), timestamp: z.string() });
