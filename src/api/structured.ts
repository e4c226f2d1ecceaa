// Structured output at the API boundary: OpenAI's `response_format` and OCI's `responseFormat` → the
// engine's response format, with the schema compiled by ajv up front (an invalid schema is a 400 before
// any generation) and every finished document checked against it afterwards: constrained decoding makes
// outputs valid by construction, and this check makes sure of it.

import { Ajv, type ValidateFunction } from "ajv";
import { z } from "zod";
import { type InferenceResult, type ResponseFormat, ServiceError, badRequest } from "../control/index.ts";

const JsonSchemaBody = z
  .union([z.record(z.string(), z.unknown()), z.boolean()])
  .describe("a JSON Schema (see the guide for the keywords constrained decoding enforces)");

export const OpenAiResponseFormat = z
  .discriminatedUnion("type", [
    z.strictObject({ type: z.literal("text") }),
    z.strictObject({ type: z.literal("json_object") }),
    z.strictObject({
      type: z.literal("json_schema"),
      json_schema: z.strictObject({
        name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "1–64 letters, digits, _ or -"),
        description: z.string().optional(),
        schema: JsonSchemaBody.optional(),
        strict: z.boolean().nullish().describe("accepted; outputs always follow the schema"),
      }),
    }),
  ])
  .meta({ id: "ResponseFormat" });

export const OciResponseFormat = z
  .discriminatedUnion("type", [
    z.strictObject({ type: z.literal("TEXT") }),
    z.strictObject({ type: z.literal("JSON_OBJECT") }),
    z.strictObject({
      type: z.literal("JSON_SCHEMA"),
      jsonSchema: z.strictObject({
        name: z.string().min(1).max(64),
        description: z.string().optional(),
        schema: JsonSchemaBody.optional(),
        isStrict: z.boolean().optional(),
      }),
    }),
  ])
  .meta({ id: "OciResponseFormat" });

export interface Structured {
  format: ResponseFormat | undefined;
  /** throws unless every finished output is a document of the format (`stops`: the request's stop sequences) */
  check(results: readonly InferenceResult[], stops: readonly string[]): void;
}

const ajv = new Ajv({ strict: false, allErrors: false });

function structured(kind: "text" | "json_object" | "json_schema", schema: unknown, where: string): Structured {
  if (kind === "text") return { format: undefined, check: () => undefined };
  let validate: ValidateFunction | null = null;
  if (kind === "json_schema") {
    try {
      validate = ajv.compile(schema as object);
    } catch (e) {
      throw badRequest(`${where}: not a valid JSON Schema (${(e as Error).message})`);
    }
  }
  return {
    format: kind === "json_object" ? { type: "json_object" } : { type: "json_schema", schema: schema as Record<string, unknown> | boolean },
    check(results, stops) {
      // a document cut by a stop sequence or max tokens is returned as generated, like OpenAI does
      if (stops.length) return;
      for (const r of results) {
        if (r.finishReason !== "stop") continue;
        let value: unknown;
        try {
          value = JSON.parse(r.text);
        } catch {
          throw new ServiceError(500, "InternalServerError", "constrained decoding produced text that is not JSON; please report this");
        }
        const objectOk = kind !== "json_object" || (typeof value === "object" && value !== null && !Array.isArray(value));
        if (!objectOk || (validate && !validate(value)))
          throw new ServiceError(
            500,
            "InternalServerError",
            `constrained decoding produced JSON the schema refuses (${ajv.errorsText(validate?.errors)}); please report this`,
          );
      }
    },
  };
}

export function openAiStructured(rf: z.infer<typeof OpenAiResponseFormat> | null | undefined): Structured {
  if (!rf || rf.type === "text") return structured("text", null, "");
  if (rf.type === "json_object") return structured("json_object", null, "");
  return structured("json_schema", rf.json_schema.schema ?? true, "response_format.json_schema.schema");
}

export function ociStructured(rf: z.infer<typeof OciResponseFormat> | undefined): Structured {
  if (!rf || rf.type === "TEXT") return structured("text", null, "");
  if (rf.type === "JSON_OBJECT") return structured("json_object", null, "");
  return structured("json_schema", rf.jsonSchema.schema ?? true, "chatRequest.responseFormat.jsonSchema.schema");
}

/** A format made by Sprig itself (e.g. required tool calls). */
export function structuredFor(f: ResponseFormat): Structured {
  return f.type === "json_object" ? structured("json_object", null, "") : structured("json_schema", f.schema, "tools: parameters");
}
