// Embeddings: OpenAI's POST /v1/embeddings and OCI's POST /20231130/actions/embedText, served by an
// endpoint's model (base, T-Few/LoRA custom model through its table row, or full model): the mean over
// the input's tokens of the final-norm hidden states, L2-normalised (src/serving/hosting/embedder.ts).

import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { type ControlPlane, type EmbedRequest, badRequest } from "../control/index.ts";
import { route } from "./routes.ts";
import { ServingMode, servedBy } from "./serving-mode.ts";

export const EmbeddingRequest = z
  .strictObject({
    model: z.string().min(1).describe("endpoint id or display name"),
    input: z
      .union([
        z.string(),
        z.array(z.string()).min(1).max(2048),
        z.array(z.number().int().min(0)).min(1),
        z
          .array(z.array(z.number().int().min(0)).min(1))
          .min(1)
          .max(2048),
      ])
      .describe("text, texts, token ids, or lists of token ids"),
    encoding_format: z
      .enum(["float", "base64"])
      .nullish()
      .describe("base64: each vector's little-endian float32 bytes (the openai client's default)"),
    dimensions: z.number().int().min(1).nullish().describe("refused unless it is the model's hidden size: vectors are not truncated"),
    user: z.string().max(256).nullish().describe("accepted and ignored"),
  })
  .meta({ id: "CreateEmbeddingRequest" });

export const EmbedTextDetails = z
  .strictObject({
    compartmentId: z.string().min(1),
    servingMode: ServingMode,
    inputs: z.array(z.string()).min(1).max(96),
    truncate: z
      .enum(["NONE", "START", "END"])
      .optional()
      .describe("inputs over the context: NONE (default) refuses them, START drops their beginning, END their end"),
    inputType: z
      .enum(["SEARCH_DOCUMENT", "SEARCH_QUERY", "CLASSIFICATION", "CLUSTERING"])
      .optional()
      .describe("accepted; the same pooling serves every type (no per-type instruction is added)"),
    isEcho: z.boolean().optional().describe("return the inputs too"),
  })
  .meta({ id: "EmbedTextDetails" });

const base64 = (v: number[]) => Buffer.from(Float32Array.from(v).buffer).toString("base64");

export function embeddingRoutes(app: FastifyInstance, cp: ControlPlane): void {
  route(
    app,
    {
      method: "POST",
      url: "/v1/embeddings",
      tag: "OpenAI",
      summary: "Embeddings: mean-pooled, L2-normalised final hidden states",
      body: EmbeddingRequest,
    },
    async ({ scope, body: b }) => {
      const raw = b.input;
      const inputs: EmbedRequest["inputs"] =
        typeof raw === "string"
          ? [{ kind: "text", text: raw }]
          : typeof raw[0] === "number"
            ? [{ kind: "ids", ids: raw as number[] }]
            : (raw as (string | number[])[]).map((x) => (typeof x === "string" ? { kind: "text", text: x } : { kind: "ids", ids: x }));
      const { endpoint, result } = await cp.inference.embed(scope, { endpoint: b.model, inputs, truncate: "NONE" });
      const dim = result.embeddings[0]?.length ?? 0;
      if (b.dimensions != null && b.dimensions !== dim)
        throw badRequest(`dimensions: this model's embeddings have ${dim} dimensions and are not truncated`);
      return {
        object: "list",
        data: result.embeddings.map((v, index) => ({
          object: "embedding",
          index,
          embedding: b.encoding_format === "base64" ? base64(v) : v,
        })),
        model: endpoint.id,
        usage: { prompt_tokens: result.promptTokens, total_tokens: result.promptTokens },
      };
    },
  );

  route(
    app,
    { method: "POST", url: "/20231130/actions/embedText", tag: "Inference", summary: "Embed texts", body: EmbedTextDetails },
    async ({ scope, body, req }) => {
      const { endpoint, result } = await cp.inference.embed(scope, {
        endpoint: await servedBy(cp, scope, body.compartmentId, body.servingMode),
        inputs: body.inputs.map((text) => ({ kind: "text", text })),
        truncate: body.truncate ?? "NONE",
      });
      return {
        id: String(req.id),
        embeddings: result.embeddings,
        ...(body.isEcho ? { inputs: body.inputs } : {}),
        modelId: endpoint.modelId,
        modelVersion: "1",
        usage: { promptTokens: result.promptTokens, totalTokens: result.promptTokens },
      };
    },
  );
}
