// Request bodies of the management API as strict zod schemas: they validate requests (unknown fields
// are rejected) and feed the OpenAPI document.

import { z } from "zod";
import { ClusterType, DefinedTags, FineTuneDetails, Tags } from "./resources.ts";
import { HuggingFaceHubModelSource, ObjectStorageAdapterSource } from "./model-sources.ts";
import { SHAPE_NAMES } from "./shapes.ts";

const name = z.string().min(1).max(255);
const description = z.string().max(400);
const compartmentId = z.string().min(1).max(255);

export const CreateDedicatedAiClusterDetails = z
  .strictObject({
    compartmentId,
    type: ClusterType,
    unitShape: z
      .enum(SHAPE_NAMES)
      .optional()
      .describe(
        "what each unit reserves: SPRIG_CPU_SMALL (1 core, 2 GiB; default), SPRIG_CPU_MEDIUM (2 cores, 4 GiB), SPRIG_CPU_LARGE (4 cores, 8 GiB)",
      ),
    unitCount: z
      .number()
      .int()
      .min(1)
      .max(64)
      .describe("units (worker processes), each on cores reserved for it; refused with 400 LimitExceeded when no node has room"),
    displayName: name.optional(),
    description: description.optional(),
    freeformTags: Tags.optional(),
    definedTags: DefinedTags.optional(),
  })
  .meta({ id: "CreateDedicatedAiClusterDetails" });
export type CreateDedicatedAiClusterDetails = z.infer<typeof CreateDedicatedAiClusterDetails>;

export const UpdateDedicatedAiClusterDetails = z
  .strictObject({
    unitCount: z.number().int().min(1).max(64).optional(),
    displayName: name.optional(),
    description: description.optional(),
    freeformTags: Tags.optional(),
    definedTags: DefinedTags.optional(),
  })
  .meta({ id: "UpdateDedicatedAiClusterDetails" });
export type UpdateDedicatedAiClusterDetails = z.infer<typeof UpdateDedicatedAiClusterDetails>;

export const HuggingFaceModelSource = z
  .strictObject({
    sourceType: z.literal("HUGGING_FACE_DIRECTORY"),
    path: z.string().min(1).describe("a directory on the server with config.json and *.safetensors (tokenizer.json optional)"),
  })
  .meta({ id: "HuggingFaceModelSource" });

export const CreateModelDetails = z
  .strictObject({
    compartmentId,
    baseModelId: z
      .string()
      .min(1)
      .optional()
      .describe("CUSTOM: the model to fine-tune (BASE or CUSTOM), or the base an imported adapter was trained on"),
    fineTuneDetails: FineTuneDetails.optional().describe("creates a CUSTOM model by fine-tuning"),
    modelSource: z
      .discriminatedUnion("sourceType", [HuggingFaceModelSource, HuggingFaceHubModelSource])
      .optional()
      .describe("Sprig: registers a BASE model from a Hugging Face directory on the server, or pulls one from the Hugging Face Hub"),
    adapterSource: ObjectStorageAdapterSource.optional().describe(
      "Sprig: imports a PEFT adapter (IA3 or LoRA) from object storage as a CUSTOM model of baseModelId",
    ),
    displayName: name.optional(),
    description: description.optional(),
    vendor: z.string().max(255).optional(),
    version: z.string().max(255).optional(),
    freeformTags: Tags.optional(),
    definedTags: DefinedTags.optional(),
  })
  .meta({ id: "CreateModelDetails" });
export type CreateModelDetails = z.infer<typeof CreateModelDetails>;

export const UpdateModelDetails = z
  .strictObject({
    displayName: name.optional(),
    description: description.optional(),
    vendor: z.string().max(255).optional(),
    version: z.string().max(255).optional(),
    freeformTags: Tags.optional(),
    definedTags: DefinedTags.optional(),
  })
  .meta({ id: "UpdateModelDetails" });
export type UpdateModelDetails = z.infer<typeof UpdateModelDetails>;

const ContentModerationConfig = z
  .strictObject({
    isEnabled: z.boolean(),
    mode: z
      .enum(["INFORM", "BLOCK"])
      .optional()
      .describe("INFORM (default): generate and report the scores; BLOCK: refuse flagged requests, withhold flagged answers"),
    modelId: z
      .undefined({ error: "Sprig's moderator is set on the server (a blocklist, or one given to the service): leave modelId out" })
      .optional()
      .describe("refused: the moderator is the server's"),
  })
  .meta({ id: "ContentModerationConfig" });

export const CreateEndpointDetails = z
  .strictObject({
    compartmentId,
    modelId: z.string().min(1),
    dedicatedAiClusterId: z.string().min(1),
    contentModerationConfig: ContentModerationConfig.optional().describe(
      "moderate OCI chat and generateText through this endpoint with the server's moderator (docs/api.md)",
    ),
    displayName: name.optional(),
    description: description.optional(),
    freeformTags: Tags.optional(),
    definedTags: DefinedTags.optional(),
  })
  .meta({ id: "CreateEndpointDetails" });
export type CreateEndpointDetails = z.infer<typeof CreateEndpointDetails>;

export const UpdateEndpointDetails = z
  .strictObject({
    contentModerationConfig: ContentModerationConfig.optional(),
    displayName: name.optional(),
    description: description.optional(),
    freeformTags: Tags.optional(),
    definedTags: DefinedTags.optional(),
  })
  .meta({ id: "UpdateEndpointDetails" });
export type UpdateEndpointDetails = z.infer<typeof UpdateEndpointDetails>;

/** Query of every list call (OCI style). */
export const ListQuery = z.strictObject({
  compartmentId: compartmentId.optional().describe("default: every compartment of the key"),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  page: z.string().max(200).optional().describe("the opc-next-page header of the previous page"),
  lifecycleState: z.string().max(32).optional(),
  displayName: z.string().max(255).optional(),
  sortBy: z.enum(["timeCreated", "displayName"]).default("timeCreated"),
  sortOrder: z.enum(["ASC", "DESC"]).default("DESC"),
  // filters that only some lists take: each is checked by the route that uses it
  dedicatedAiClusterId: z.string().optional(),
  modelId: z.string().optional(),
  resourceId: z.string().optional(),
  operationType: z.string().optional(),
  status: z.string().optional(),
  type: z.string().optional(),
  capability: z.string().optional(),
});
export type ListQuery = z.infer<typeof ListQuery>;
