// Tool calling at the API boundary: OpenAI's `tools` / `tool_choice` / `parallel_tool_calls` and OCI
// GENERIC chat's `tools` / `toolChoice` → what the model is shown, whether the answer is constrained to
// calls, and the calls read back from the answer (src/control/tool-calls.ts holds the shared format).

import { randomBytes } from "node:crypto";
import { z } from "zod";
import {
  type InferenceResult,
  type ResponseFormat,
  type ToolCall,
  type ToolMode,
  type ToolSpec,
  badRequest,
  callFormat,
  parseToolCalls,
} from "../control/index.ts";

const Name = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "1–64 letters, digits, _ or -");
const Parameters = z
  .record(z.string(), z.unknown())
  .describe("JSON Schema of the arguments object (constrained decoding enforces it when a call is required)");

export const OpenAiTool = z
  .strictObject({
    type: z.literal("function"),
    function: z.strictObject({
      name: Name,
      description: z.string().optional(),
      parameters: Parameters.optional(),
      strict: z.boolean().nullish(),
    }),
  })
  .meta({ id: "ChatCompletionTool" });
export const OpenAiToolChoice = z
  .union([z.enum(["none", "auto", "required"]), z.strictObject({ type: z.literal("function"), function: z.strictObject({ name: Name }) })])
  .meta({ id: "ChatCompletionToolChoice" });
export const OpenAiToolCall = z.strictObject({
  id: z.string(),
  type: z.literal("function"),
  function: z.strictObject({ name: z.string(), arguments: z.string() }),
});

export const OciTool = z
  .strictObject({ type: z.literal("FUNCTION"), name: Name, description: z.string().optional(), parameters: Parameters.optional() })
  .meta({ id: "FunctionDefinition" });
export const OciToolChoice = z
  .discriminatedUnion("type", [
    z.strictObject({ type: z.enum(["NONE", "AUTO", "REQUIRED"]) }),
    z.strictObject({ type: z.literal("FUNCTION"), name: Name }),
  ])
  .meta({ id: "ToolChoice" });
export const OciToolCall = z.strictObject({ id: z.string(), type: z.literal("FUNCTION"), name: z.string(), arguments: z.string() });

export interface ToolPlan {
  /** functions shown to the model (undefined: none) */
  tools: ToolSpec[] | undefined;
  mode: ToolMode;
  /** the constraint when a call is required */
  format: ResponseFormat | undefined;
  /** the calls in a result, or null when it answered in text */
  calls(r: InferenceResult): ToolCall[] | null;
}

const callId = () => `call_${randomBytes(12).toString("hex")}`;

export function toolPlan(tools: ToolSpec[] | undefined, mode: ToolMode, parallel: boolean): ToolPlan {
  if (!tools?.length) {
    if (mode.mode === "required" || mode.mode === "named") throw badRequest("tool_choice: requires tools");
    return { tools: undefined, mode: { mode: "none" }, format: undefined, calls: () => null };
  }
  const names = new Set<string>();
  for (const t of tools) {
    if (names.has(t.name)) throw badRequest(`tools: the function name ${t.name} is given twice`);
    names.add(t.name);
  }
  if (mode.mode === "named" && !names.has(mode.name)) throw badRequest(`tool_choice: no tool is named ${mode.name}`);
  const format = callFormat(tools, mode, parallel);
  return { tools, mode, format, calls: (r) => (mode.mode === "none" ? null : parseToolCalls(r.text, tools, callId)) };
}

export function openAiToolMode(c: z.infer<typeof OpenAiToolChoice> | null | undefined, hasTools: boolean): ToolMode {
  if (c == null) return { mode: hasTools ? "auto" : "none" };
  if (typeof c === "string") return { mode: c };
  return { mode: "named", name: c.function.name };
}

export function ociToolMode(c: z.infer<typeof OciToolChoice> | undefined, hasTools: boolean): ToolMode {
  if (!c) return { mode: hasTools ? "auto" : "none" };
  if (c.type === "FUNCTION") return { mode: "named", name: c.name };
  return { mode: c.type.toLowerCase() as "none" | "auto" | "required" };
}

/**
 * Streaming with tools: a choice's text is held back while it may be a call (it starts with `{` or `<`, or
 * a call is required) and sent as content as soon as it cannot be; calls are sent once complete.
 */
export class ToolStream {
  private readonly state: ("undecided" | "content" | "held")[];
  private readonly held: string[];

  constructor(
    n: number,
    private readonly required: boolean,
    private readonly sendContent: (index: number, text: string) => void,
  ) {
    this.state = Array.from({ length: n }, () => (required ? "held" : "undecided"));
    this.held = Array.from({ length: n }, () => "");
  }

  delta(index: number, text: string): void {
    const st = this.state[index]!;
    if (st === "content") return this.sendContent(index, text);
    this.held[index] += text;
    if (st === "held") return;
    const lead = this.held[index]!.trimStart();
    if (!lead) return;
    if (lead.startsWith("{") || lead.startsWith("<")) this.state[index] = "held";
    else {
      this.state[index] = "content";
      this.sendContent(index, this.held[index]!);
    }
  }

  /** At the end of a choice: text still held that turned out not to be a call. */
  flush(index: number, isCall: boolean): void {
    if (this.state[index] !== "content" && !isCall && this.held[index]) this.sendContent(index, this.held[index]!);
  }
}
