// Tool calling through the official `openai` client against a live service (worker processes, sprig-base,
// whose template has no tools: Sprig's default tool prompt): required and named calls are constrained to
// the functions' parameters, auto and none answer as the model does, streamed calls merge (the client's
// own stream helper) into the non-streamed answer, tool results go back in; OCI GENERIC tools/toolChoice.
// Plus the reading of calls and the two ways of showing tools (template `tools` variable, default prompt).

import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Ajv } from "ajv";
import OpenAI from "openai";
import { parseToolCalls, templateTakesTools, withDefaultToolPrompt } from "../../src/control/tool-calls.ts";
import { loadTokenizer } from "../../src/models/io/tokenizer.ts";
import { type LiveService, liveService } from "./live-service.ts";

const WEATHER = {
  type: "object",
  properties: { city: { type: "string", maxLength: 12 }, unit: { enum: ["C", "F"] } },
  required: ["city"],
  additionalProperties: false,
};
const ADD = {
  type: "object",
  properties: { a: { type: "integer" }, b: { type: "integer" } },
  required: ["a", "b"],
  additionalProperties: false,
};
const tools: OpenAI.ChatCompletionTool[] = [
  { type: "function", function: { name: "get_weather", parameters: WEATHER } },
  { type: "function", function: { name: "add", parameters: ADD } },
];
const ajv = new Ajv();
const check = { get_weather: ajv.compile(WEATHER), add: ajv.compile(ADD) } as Record<string, ReturnType<typeof ajv.compile>>;
const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "Weather in Paris?" }];
let live: LiveService;
let openai: OpenAI;

before(async () => {
  live = await liveService(longContextCopy());
  openai = new OpenAI({ apiKey: live.key, baseURL: `${live.url}/v1`, maxRetries: 0 });
});
after(async () => live?.close());

/**
 * sprig-base with a 1024-position context (its rotary embeddings extend; it was trained on 256): the
 * default tool prompt, JSON Schemas included, is longer than 256 tokens in its story-trained vocabulary.
 */
function longContextCopy(): string {
  const dir = join(mkdtempSync(join(tmpdir(), "sprig-tools-")), "model");
  cpSync("models/sprig-base", dir, { recursive: true });
  const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, unknown>;
  writeFileSync(join(dir, "config.json"), JSON.stringify({ ...cfg, max_position_embeddings: 1024 }));
  return dir;
}

function assertCalls(c: OpenAI.ChatCompletion.Choice, names: string[]): OpenAI.ChatCompletionMessageFunctionToolCall[] {
  assert.equal(c.finish_reason, "tool_calls");
  assert.equal(c.message.content, null);
  const calls = c.message.tool_calls as OpenAI.ChatCompletionMessageFunctionToolCall[];
  assert.ok(calls.length >= 1);
  for (const call of calls) {
    assert.ok(names.includes(call.function.name), call.function.name);
    assert.match(call.id, /^call_/);
    const args = JSON.parse(call.function.arguments) as unknown;
    assert.ok(check[call.function.name]!(args), call.function.arguments);
  }
  return calls;
}

test("openai tools: required and named calls follow the parameters; none and auto answer", async () => {
  const ask = (extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming>) =>
    openai.chat.completions.create({ model: live.endpointId, messages, tools, max_tokens: 60, temperature: 0, ...extra });
  const req = await ask({ tool_choice: "required", n: 2, temperature: 1, seed: 3 });
  for (const c of req.choices) assertCalls(c, ["get_weather", "add"]);
  const named = await ask({ tool_choice: { type: "function", function: { name: "add" } }, parallel_tool_calls: false });
  assert.equal(assertCalls(named.choices[0]!, ["add"]).length, 1);
  const none = await ask({ tool_choice: "none" });
  assert.equal(typeof none.choices[0]!.message.content, "string");
  assert.equal(none.choices[0]!.message.tool_calls, undefined);
  const auto = await ask({});
  const a = auto.choices[0]!;
  if (a.finish_reason === "tool_calls") assertCalls(a, ["get_weather", "add"]);
  else assert.equal(typeof a.message.content, "string");
  await assert.rejects(
    ask({ tool_choice: { type: "function", function: { name: "nope" } } }),
    (e: unknown) => e instanceof OpenAI.BadRequestError && /no tool is named nope/.test(e.message),
  );
  await assert.rejects(
    openai.chat.completions.create({ model: live.endpointId, messages, max_tokens: 20, tool_choice: "required" }),
    (e: unknown) => e instanceof OpenAI.BadRequestError && /requires tools/.test(e.message),
  );
});

test("openai tools: streamed calls merge into the same answer; tool results go back in", async () => {
  const params = { model: live.endpointId, messages, tools, max_tokens: 60, temperature: 0, tool_choice: "required" as const };
  const whole = await openai.chat.completions.create(params);
  const wantCalls = assertCalls(whole.choices[0]!, ["get_weather", "add"]);
  const stream = openai.chat.completions.stream(params);
  const kinds: string[] = [];
  stream.on("chunk", (ch) => {
    const d = ch.choices[0]?.delta;
    if (d?.tool_calls?.[0]?.id) kinds.push("head");
    else if (d?.tool_calls) kinds.push("args");
  });
  const merged = await stream.finalChatCompletion();
  const got = merged.choices[0]!;
  assert.equal(got.finish_reason, "tool_calls");
  const calls = got.message.tool_calls as OpenAI.ChatCompletionMessageFunctionToolCall[];
  assert.deepEqual(
    calls.map((c) => [c.function.name, c.function.arguments]),
    wantCalls.map((c) => [c.function.name, c.function.arguments]),
  );
  assert.deepEqual(kinds.slice(0, 2), ["head", "args"]);

  const followUp = await openai.chat.completions.create({
    model: live.endpointId,
    max_tokens: 12,
    temperature: 0,
    tools,
    tool_choice: "none",
    messages: [
      ...messages,
      { role: "assistant", content: null, tool_calls: wantCalls },
      { role: "tool", tool_call_id: wantCalls[0]!.id, content: '{"temperature": 21}' },
    ],
  });
  assert.equal(typeof followUp.choices[0]!.message.content, "string");
  await assert.rejects(
    openai.chat.completions.create({
      model: live.endpointId,
      max_tokens: 4,
      messages: [...messages, { role: "tool", content: "x" } as unknown as OpenAI.ChatCompletionMessageParam],
    }),
    (e: unknown) => e instanceof OpenAI.BadRequestError && /tool_call_id/.test(e.message),
  );
});

test("OCI GENERIC chat: tools and toolChoice", async () => {
  const r = await live.call("POST", "/20231130/actions/chat", {
    compartmentId: "compA",
    servingMode: { servingType: "DEDICATED", endpointId: live.endpointId },
    chatRequest: {
      apiFormat: "GENERIC",
      messages: [{ role: "USER", content: [{ type: "TEXT", text: "Add 2 and 3" }] }],
      maxTokens: 60,
      temperature: 0,
      tools: [{ type: "FUNCTION", name: "add", description: "Add two integers", parameters: ADD }],
      toolChoice: { type: "FUNCTION", name: "add" },
    },
  });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const choice = (
    r.json.chatResponse as {
      choices: { finishReason: string; message: { toolCalls: { id: string; type: string; name: string; arguments: string }[] } }[];
    }
  ).choices[0]!;
  assert.equal(choice.finishReason, "tool_calls");
  assert.equal(choice.message.toolCalls[0]!.type, "FUNCTION");
  assert.equal(choice.message.toolCalls[0]!.name, "add");
  assert.ok(check.add!(JSON.parse(choice.message.toolCalls[0]!.arguments)));
});

test("tool calls are read in Sprig's, Hermes' and the bare format; only offered functions count", () => {
  const specs = [{ name: "add", parameters: ADD }];
  let n = 0;
  const id = () => `call_${n++}`;
  assert.deepEqual(parseToolCalls('{"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 2}}]}', specs, id), [
    { id: "call_0", name: "add", arguments: '{"a":1,"b":2}' },
  ]);
  assert.deepEqual(
    parseToolCalls('<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n</tool_call>', specs, id)?.map((c) => c.name),
    ["add"],
  );
  assert.deepEqual(
    parseToolCalls(' {"name": "add", "parameters": {"a": 1, "b": 2}}', specs, id)?.map((c) => c.arguments),
    ['{"a":1,"b":2}'],
  );
  assert.equal(parseToolCalls('{"name": "sub", "arguments": {}}', specs, id), null);
  assert.equal(parseToolCalls("It is sunny.", specs, id), null);
  assert.equal(parseToolCalls('{"tool_calls": [{"name": "add"}]}', specs, id), null);
});

test("tools are shown through a template's `tools` variable, or Sprig's default prompt", () => {
  const tok = loadTokenizer("models/sprig-base")!;
  assert.equal(templateTakesTools(tok.chatTemplate), false);
  const shown = tok.applyChatTemplate(
    withDefaultToolPrompt([{ role: "user", content: "hi" }], [{ name: "add", parameters: ADD }]).map((m) => ({ ...m })),
    { addGenerationPrompt: true },
  );
  assert.match(shown, /^<s><\|system\|>\nFunctions[\s\S]*\nadd\n\{"type":"object"[\s\S]*"tool_calls"[\s\S]*<\|user\|>\nhi/);
  const template = "{% for t in tools %}[{{ t.function.name }}]{% endfor %}{% for m in messages %}{{ m.content }}{% endfor %}";
  assert.ok(templateTakesTools(template));
});
