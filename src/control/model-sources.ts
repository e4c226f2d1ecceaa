// Where a new model's files come from, beside a fine-tune: a PEFT adapter uploaded to object storage
// (a CUSTOM model, `adapterSource`), and a model on the Hugging Face Hub (a BASE model, `modelSource`
// of type HUGGING_FACE_MODEL). Strict schemas: they validate requests and feed the OpenAPI document.

import { z } from "zod";

const NAME = z.string().min(1).max(256);

export const ObjectStorageAdapterSource = z
  .strictObject({
    sourceType: z.literal("OBJECT_STORAGE"),
    namespaceName: NAME,
    bucketName: NAME,
    /** the objects `{prefix}adapter_config.json`, `{prefix}adapter_model.safetensors` and, optionally, `{prefix}sprig_adapter.json` */
    prefix: z
      .string()
      .max(1024)
      .describe(
        "object name prefix of the adapter's files, e.g. 'my-adapter/' (adapter_config.json, adapter_model.safetensors, optional sprig_adapter.json)",
      ),
  })
  .meta({ id: "ObjectStorageAdapterSource" });
export type ObjectStorageAdapterSource = z.infer<typeof ObjectStorageAdapterSource>;

export const HuggingFaceHubModelSource = z
  .strictObject({
    sourceType: z.literal("HUGGING_FACE_MODEL"),
    /** ORG/NAME on the Hub (or on the mirror the server's HF_ENDPOINT names) */
    modelId: z
      .string()
      .min(3)
      .max(200)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/, "expected ORG/NAME")
      .describe("Hugging Face model id, ORG/NAME"),
    revision: z.string().min(1).max(255).optional().describe("branch, tag or commit (default main); resolved to a commit"),
    accessToken: z
      .string()
      .min(1)
      .max(1024)
      .optional()
      .describe("token for gated or private models (default: the server's HF_TOKEN); never stored"),
  })
  .meta({ id: "HuggingFaceHubModelSource" });
export type HuggingFaceHubModelSource = z.infer<typeof HuggingFaceHubModelSource>;
