// The OpenAPI 3.1 document, built from the routes' zod schemas (the same ones that validate requests).

import { z } from "zod";
import type { RouteDoc } from "./routes.ts";

const ErrorBody = z.object({ code: z.string(), message: z.string() }).meta({ id: "Error" });

export function openApiDocument(routes: readonly RouteDoc[], version: string): Record<string, unknown> {
  const schemas: Record<string, unknown> = {};
  // component schemas (those with a meta id) are hoisted to #/components/schemas
  const js = (s: z.ZodType, io: "input" | "output") => {
    const raw = JSON.stringify(z.toJSONSchema(s, { io, unrepresentable: "any", target: "draft-2020-12" }));
    const out = JSON.parse(raw.replaceAll('"#/$defs/', '"#/components/schemas/')) as Record<string, unknown>;
    const defs = (out.$defs ?? {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(defs)) schemas[k] = v;
    delete out.$defs;
    delete out.$schema;
    const id = s.meta()?.id as string | undefined;
    if (id) {
      // a top-level schema with an id comes back as a $ref into $defs, already hoisted above
      if (!(id in schemas) || !("$ref" in out)) schemas[id] = out;
      return { $ref: `#/components/schemas/${id}` };
    }
    return out;
  };
  js(ErrorBody, "output");
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.url.replace(/:(\w+)/g, "{$1}").replace(/\*$/, "{objectName}");
    const parameters: unknown[] = [];
    for (const [where, schema] of [
      ["path", r.params],
      ["query", r.query],
    ] as const) {
      if (!schema) continue;
      const obj = js(schema, "input") as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, s] of Object.entries(obj.properties ?? {}))
        parameters.push({
          name: name === "*" ? "objectName" : name,
          in: where,
          required: where === "path" || (obj.required ?? []).includes(name),
          schema: s,
        });
    }
    for (const h of r.headers ?? []) parameters.push({ name: h, in: "header", required: false, schema: { type: "string" } });
    const op: Record<string, unknown> = {
      tags: [r.tag],
      summary: r.summary,
      operationId: `${r.method.toLowerCase()}${path.replace(/[^A-Za-z0-9]+(\w)?/g, (_m, c: string | undefined) => (c ?? "").toUpperCase())}`,
      parameters,
      responses: {
        [String(r.status ?? 200)]: {
          description: "success",
          ...(r.response ? { content: { "application/json": { schema: js(r.response, "output") } } } : {}),
        },
        default: { description: "error", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
      },
    };
    if (r.body) op.requestBody = { required: true, content: { "application/json": { schema: js(r.body, "input") } } };
    if (r.auth === false) op.security = [];
    (paths[path] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Sprig",
      version,
      description:
        "Self-hosted generative AI service: OCI Generative AI-style management and inference, OpenAI-compatible /v1, object storage for training data.",
    },
    servers: [{ url: "/" }],
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas,
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "an API key from `sprig key create`" } },
    },
  };
}
