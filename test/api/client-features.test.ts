// Through the official `openai` client against a live service (worker processes, the bundled sprig-base
// model): structured output (json_schema, json_object) on chat and completions, n > 1, usage (streaming
// too), logprobs with top_logprobs, logit_bias, seeds that give the same output whatever else shares the
// batch, embeddings (base64 and float); OCI GENERIC chat's responseFormat, logProbs and usage, embedText.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Ajv } from "ajv";
import OpenAI from "openai";
import { loadTokenizer } from "../../src/models/io/tokenizer.ts";
import { tokenBytes } from "../../src/serving/constrained/token-bytes.ts";
import { type LiveService, liveService } from "./live-service.ts";

const SCHEMA = {
  type: "object",
  properties: { name: { type: "string", maxLength: 8 }, age: { type: "integer" }, ok: { type: "boolean" } },
  required: ["name", "age", "ok"],
  additionalProperties: false,
};
const validate = new Ajv().compile(SCHEMA);
let live: LiveService;
let openai: OpenAI;
const messages = [{ role: "user" as const, content: "Tell me about Tom." }];

before(async () => {
  live = await liveService("models/sprig-base");
  openai = new OpenAI({ apiKey: live.key, baseURL: `${live.url}/v1`, maxRetries: 0 });
});
after(async () => live?.close());

test("openai: json_schema chat with n = 3: every choice parses and validates; usage adds up", async () => {
  const r = await openai.chat.completions.create({
    model: live.endpointId,
    messages,
    max_tokens: 40,
    temperature: 1,
    seed: 4,
    n: 3,
    logprobs: true,
    response_format: { type: "json_schema", json_schema: { name: "person", schema: SCHEMA, strict: true } },
  });
  assert.equal(r.choices.length, 3);
  let tokens = 0;
  for (const c of r.choices) {
    assert.equal(c.finish_reason, "stop");
    const v = JSON.parse(c.message.content!) as unknown;
    assert.ok(validate(v), `${c.message.content} ${JSON.stringify(validate.errors)}`);
    tokens += c.logprobs!.content!.length;
  }
  assert.equal(r.usage!.completion_tokens, tokens);
  assert.ok(r.usage!.prompt_tokens > 0);
  assert.equal(r.usage!.total_tokens, r.usage!.prompt_tokens + r.usage!.completion_tokens);
  // seeds seed, seed+1, seed+2: the choices differ
  assert.ok(new Set(r.choices.map((c) => c.message.content)).size > 1);
});

test("openai: json_object on /v1/completions and streamed chat with include_usage", async () => {
  const c = await openai.completions.create({
    model: live.endpointId,
    prompt: "Once upon a time",
    max_tokens: 40,
    temperature: 0,
    response_format: { type: "json_object" },
  } as OpenAI.CompletionCreateParamsNonStreaming);
  const v = JSON.parse(c.choices[0]!.text) as unknown;
  assert.ok(typeof v === "object" && v !== null && !Array.isArray(v));
  assert.equal(c.usage!.total_tokens, c.usage!.prompt_tokens + c.usage!.completion_tokens);

  const stream = await openai.chat.completions.create({
    model: live.endpointId,
    messages,
    max_tokens: 40,
    temperature: 0,
    stream: true,
    stream_options: { include_usage: true },
    response_format: { type: "json_schema", json_schema: { name: "p", schema: SCHEMA } },
  });
  let text = "";
  let usage: OpenAI.CompletionUsage | null | undefined;
  for await (const ch of stream) {
    text += ch.choices[0]?.delta.content ?? "";
    if (ch.usage) usage = ch.usage;
  }
  assert.ok(validate(JSON.parse(text)), text);
  assert.ok(usage && usage.completion_tokens > 0 && usage.total_tokens === usage.prompt_tokens + usage.completion_tokens);
  const whole = await openai.chat.completions.create({
    model: live.endpointId,
    messages,
    max_tokens: 40,
    temperature: 0,
    response_format: { type: "json_schema", json_schema: { name: "p", schema: SCHEMA } },
  });
  assert.equal(whole.choices[0]!.message.content, text);
  assert.equal(whole.usage!.completion_tokens, usage.completion_tokens);
});

test("openai: logprobs with top_logprobs, logit_bias, and seeds independent of the batch", async () => {
  const ask = (extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {}) =>
    openai.chat.completions.create({ model: live.endpointId, messages, max_tokens: 8, temperature: 0, ...extra });
  const top = await ask({ logprobs: true, top_logprobs: 5 });
  for (const t of top.choices[0]!.logprobs!.content!) {
    assert.equal(t.top_logprobs.length, 5);
    assert.equal(t.top_logprobs[0]!.logprob, t.logprob);
    assert.deepEqual(t.top_logprobs[0]!.bytes, t.bytes);
    for (let i = 1; i < 5; i++) assert.ok(t.top_logprobs[i]!.logprob <= t.top_logprobs[i - 1]!.logprob);
  }
  await assert.rejects(
    ask({ logprobs: true, top_logprobs: 21 }),
    (e: unknown) => e instanceof OpenAI.BadRequestError && /top_logprobs/.test(e.message),
  );
  await assert.rejects(ask({ top_logprobs: 2 }), (e: unknown) => e instanceof OpenAI.BadRequestError && /needs logprobs/.test(e.message));

  // ban the greedy first token: the answer starts differently
  const first = top.choices[0]!.logprobs!.content![0]!.top_logprobs[0]!;
  const banned = await ask({ logprobs: true, logit_bias: { [String(tokenId(top, 0))]: -100 } });
  assert.notDeepEqual(banned.choices[0]!.logprobs!.content![0]!.bytes, first.bytes);
  await assert.rejects(
    ask({ logit_bias: { "99999": 1 } }),
    (e: unknown) => e instanceof OpenAI.BadRequestError && /outside the vocabulary/.test(e.message),
  );

  // a seeded sampled request gives the same text alone and among concurrent other requests
  const seeded = () => ask({ temperature: 1.2, seed: 77, max_tokens: 16 });
  const alone = (await seeded()).choices[0]!.message.content;
  const crowd = await Promise.all([ask({ max_tokens: 20 }), seeded(), ask({ temperature: 1, seed: 1, n: 3 }), seeded()]);
  assert.equal(crowd[1].choices[0]!.message.content, alone);
  assert.equal(crowd[3].choices[0]!.message.content, alone);
});

test("openai: schemas are checked before generation (400 with the reason)", async () => {
  const bad = (schema: Record<string, unknown>) =>
    openai.chat.completions.create({
      model: live.endpointId,
      messages,
      max_tokens: 40,
      response_format: { type: "json_schema", json_schema: { name: "x", schema } },
    });
  await assert.rejects(
    bad({ type: "object", properties: { a: { type: "string", pattern: "^a" } } }),
    (e: unknown) => e instanceof OpenAI.BadRequestError && /keyword "pattern"/.test(e.message),
  );
  await assert.rejects(bad({ type: 12 }), (e: unknown) => e instanceof OpenAI.BadRequestError && /not a valid JSON Schema/.test(e.message));
  await assert.rejects(
    openai.chat.completions.create({
      model: live.endpointId,
      messages,
      max_tokens: 4,
      response_format: { type: "json_schema", json_schema: { name: "x", schema: SCHEMA } },
    }),
    (e: unknown) => e instanceof OpenAI.BadRequestError && /shortest output/.test(e.message),
  );
});

test("OCI GENERIC chat: responseFormat JSON_SCHEMA, logProbs, usage", async () => {
  const r = await live.call("POST", "/20231130/actions/chat", {
    compartmentId: "compA",
    servingMode: { servingType: "DEDICATED", endpointId: live.endpointId },
    chatRequest: {
      apiFormat: "GENERIC",
      messages: [{ role: "USER", content: [{ type: "TEXT", text: "Tom?" }] }],
      maxTokens: 40,
      temperature: 0,
      logProbs: 3,
      numGenerations: 2,
      responseFormat: { type: "JSON_SCHEMA", jsonSchema: { name: "person", schema: SCHEMA } },
    },
  });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const chat = r.json.chatResponse as {
    choices: { message: { content: { text: string }[] }; logprobs: { tokens: string[]; topLogprobs: Record<string, number>[] } }[];
    usage: { promptTokens: number; completionTokens: number; totalTokens: number };
  };
  assert.equal(chat.choices.length, 2);
  let n = 0;
  for (const c of chat.choices) {
    assert.ok(validate(JSON.parse(c.message.content[0]!.text)));
    assert.equal(c.logprobs.topLogprobs.length, c.logprobs.tokens.length);
    assert.ok(c.logprobs.topLogprobs.every((t) => Object.keys(t).length >= 1 && Object.keys(t).length <= 3));
    n += c.logprobs.tokens.length;
  }
  assert.equal(chat.usage.completionTokens, n);
  assert.equal(chat.usage.totalTokens, chat.usage.promptTokens + n);
  const obj = await live.call("POST", "/20231130/actions/chat", {
    compartmentId: "compA",
    servingMode: { servingType: "DEDICATED", endpointId: live.endpointId },
    chatRequest: {
      apiFormat: "GENERIC",
      messages: [{ role: "USER", content: [{ type: "TEXT", text: "Tom?" }] }],
      maxTokens: 30,
      responseFormat: { type: "JSON_OBJECT" },
    },
  });
  assert.equal(obj.status, 200);
  JSON.parse((obj.json.chatResponse as { choices: { message: { content: { text: string }[] } }[] }).choices[0]!.message.content[0]!.text);
});

/** the id of the i-th generated token, found by its bytes in the model's vocabulary */
function tokenId(r: OpenAI.ChatCompletion, i: number): number {
  const bytes = r.choices[0]!.logprobs!.content![i]!.bytes!;
  const vocab = tokenBytes(loadTokenizer("models/sprig-base")!).bytes;
  return vocab.findIndex((b) => b !== null && Buffer.from(b).equals(Buffer.from(bytes)));
}

test("openai embeddings: base64 (the client's default) and float agree, unit length, batched = alone; OCI embedText", async () => {
  const texts = ["The cat sat on the mat.", "A dog ran in the park.", "The cat sat on the mat."];
  const r = await openai.embeddings.create({ model: live.endpointId, input: texts });
  assert.equal(r.data.length, 3);
  assert.ok(r.usage.prompt_tokens > 0 && r.usage.total_tokens === r.usage.prompt_tokens);
  const floats = await openai.embeddings.create({ model: live.endpointId, input: texts, encoding_format: "float" });
  r.data.forEach((d, i) => {
    assert.equal(d.index, i);
    assert.ok(Math.abs(Math.hypot(...d.embedding) - 1) < 1e-4);
    d.embedding.forEach((x, k) => assert.ok(Math.abs(x - floats.data[i]!.embedding[k]!) < 1e-6));
  });
  const alone = await openai.embeddings.create({ model: live.endpointId, input: texts[1]!, encoding_format: "float" });
  alone.data[0]!.embedding.forEach((x, k) => assert.ok(Math.abs(x - floats.data[1]!.embedding[k]!) < 1e-5));
  assert.deepEqual(floats.data[0]!.embedding, floats.data[2]!.embedding);
  const dot = floats.data[0]!.embedding.reduce((s, x, k) => s + x * floats.data[1]!.embedding[k]!, 0);
  assert.ok(dot < 0.99999);
  await assert.rejects(
    openai.embeddings.create({ model: live.endpointId, input: "x", dimensions: 3 }),
    (e: unknown) => e instanceof OpenAI.BadRequestError && /dimensions/.test(e.message),
  );

  const oci = await live.call("POST", "/20231130/actions/embedText", {
    compartmentId: "compA",
    servingMode: { servingType: "DEDICATED", endpointId: live.endpointId },
    inputs: texts.slice(0, 2),
    inputType: "SEARCH_DOCUMENT",
    isEcho: true,
  });
  assert.equal(oci.status, 200, JSON.stringify(oci.json));
  const emb = oci.json.embeddings as number[][];
  emb.forEach((v, i) => v.forEach((x, k) => assert.ok(Math.abs(x - floats.data[i]!.embedding[k]!) < 1e-5)));
  assert.deepEqual(oci.json.inputs, texts.slice(0, 2));
  const long = "once upon a time ".repeat(200);
  const refused = await live.call("POST", "/20231130/actions/embedText", {
    compartmentId: "compA",
    servingMode: { servingType: "DEDICATED", endpointId: live.endpointId },
    inputs: [long],
  });
  assert.equal(refused.status, 400);
  assert.match(String((refused.json as { message: string }).message), /truncate START or END/);
  for (const truncate of ["START", "END"]) {
    const cut = await live.call("POST", "/20231130/actions/embedText", {
      compartmentId: "compA",
      servingMode: { servingType: "DEDICATED", endpointId: live.endpointId },
      inputs: [long],
      truncate,
    });
    assert.equal(cut.status, 200);
  }
});
