// Tool calling, shared by the API (what to constrain, how to read the answer) and the hosting worker (how
// to show the tools to the model). Models whose chat template reads `tools` get them there (as
// transformers passes them: OpenAI-style function specs); other templates get Sprig's default: a system
// message listing the functions and the answer format `{"tool_calls": [{"name": …, "arguments": {…}}]}`.

import type { ChatMessage, ResponseFormat } from "./executors.ts";

/** One function the model may call (OpenAI's `tools[].function`). */
export interface ToolSpec {
  name: string;
  description?: string;
  /** JSON Schema of the arguments object */
  parameters?: Record<string, unknown>;
}

export interface ToolCall {
  id: string;
  name: string;
  /** the arguments as JSON text (as OpenAI returns them) */
  arguments: string;
}

/** none: never parse calls; auto: parse them if the model makes some; required / a name: constrained to calls. */
export type ToolMode = { mode: "none" } | { mode: "auto" } | { mode: "required" } | { mode: "named"; name: string };

/** most calls one answer may hold when parallel calls are allowed */
export const MAX_PARALLEL_CALLS = 8;

/** Whether a chat template renders the `tools` variable itself. */
export function templateTakesTools(template: string | null): boolean {
  return template !== null && /\btools\b/.test(template);
}

/** Sprig's default tool prompt, for templates that do not render tools: one system message. */
export function defaultToolPrompt(tools: readonly ToolSpec[]): string {
  const list = tools
    .map((t) => `${t.name}${t.description ? `: ${t.description}` : ""}\n${JSON.stringify(t.parameters ?? { type: "object" })}`)
    .join("\n");
  return `Functions (name, then the JSON Schema of its arguments):\n${list}\nTo call functions, answer only {"tool_calls":[{"name":…,"arguments":{…}}]}.`;
}

/**
 * Messages with the tools shown the default way: the tool prompt joins the system message (or opens the
 * conversation); assistant tool calls and tool results become text in the same format.
 */
export function withDefaultToolPrompt(messages: readonly ChatMessage[], tools: readonly ToolSpec[]): ChatMessage[] {
  const out = messages.map((m) => {
    const calls = m.tool_calls as { function: { name: string; arguments: unknown } }[] | undefined;
    if (m.role === "assistant" && calls?.length)
      return {
        role: "assistant",
        content: JSON.stringify({ tool_calls: calls.map((c) => ({ name: c.function.name, arguments: c.function.arguments })) }),
      };
    if (m.role === "tool") return { role: "tool", content: m.content };
    return { role: m.role, content: m.content };
  });
  const prompt = defaultToolPrompt(tools);
  if (out[0]?.role === "system") out[0] = { role: "system", content: `${out[0].content}\n\n${prompt}` };
  else out.unshift({ role: "system", content: prompt });
  return out;
}

/** The constraint that makes an answer a call (required, or of one named function). */
export function callFormat(tools: readonly ToolSpec[], mode: ToolMode, parallel: boolean): ResponseFormat | undefined {
  if (mode.mode === "none" || mode.mode === "auto") return undefined;
  const chosen = mode.mode === "named" ? tools.filter((t) => t.name === mode.name) : tools;
  const call = (t: ToolSpec) => ({
    type: "object",
    properties: { name: { const: t.name }, arguments: t.parameters ?? { type: "object" } },
    required: ["name", "arguments"],
    additionalProperties: false,
  });
  const items = chosen.length === 1 ? call(chosen[0]!) : { anyOf: chosen.map(call) };
  return {
    type: "json_schema",
    schema: {
      type: "object",
      properties: { tool_calls: { type: "array", items, minItems: 1, maxItems: parallel ? MAX_PARALLEL_CALLS : 1 } },
      required: ["tool_calls"],
      additionalProperties: false,
    },
  };
}

type Parsed = { name: string; arguments: unknown };

/**
 * The calls in a model's answer, or null when it is not a call. Read: Sprig's `{"tool_calls": [...]}`,
 * Hermes / Qwen `<tool_call>{…}</tool_call>` blocks, and a bare `{"name": …, "arguments" | "parameters": …}`.
 * Only functions that were offered count.
 */
export function parseToolCalls(text: string, tools: readonly ToolSpec[], newId: () => string): ToolCall[] | null {
  const known = new Set(tools.map((t) => t.name));
  const one = (v: unknown): Parsed | null => {
    if (typeof v !== "object" || v === null) return null;
    const o = v as Record<string, unknown>;
    const args = o.arguments ?? o.parameters;
    if (typeof o.name !== "string" || !known.has(o.name)) return null;
    if (typeof args === "string") {
      try {
        return { name: o.name, arguments: JSON.parse(args) };
      } catch {
        return null;
      }
    }
    return typeof args === "object" && args !== null && !Array.isArray(args) ? { name: o.name, arguments: args } : null;
  };
  const json = (s: string): unknown => {
    try {
      return JSON.parse(s);
    } catch {
      return undefined;
    }
  };
  let calls: (Parsed | null)[] | null = null;
  const tagged = [...text.matchAll(/<tool_call>([\s\S]*?)<\/tool_call>/g)];
  if (tagged.length) calls = tagged.map((m) => one(json(m[1]!.trim())));
  else {
    const v = json(text.trim()) as Record<string, unknown> | undefined;
    if (v && Array.isArray(v.tool_calls)) calls = v.tool_calls.map(one);
    else if (v) calls = [one(v)];
  }
  if (!calls?.length || calls.some((c) => c === null)) return null;
  return (calls as Parsed[]).map((c) => ({ id: newId(), name: c.name, arguments: JSON.stringify(c.arguments) }));
}
