// Constrained decoding in the hosting engine: JSON-object and JSON-schema rows share one batch with free
// rows; every constrained output parses and validates (ajv) on each tiny model with a tokenizer, greedy and
// sampled, within max tokens; rows get what they would alone. Plus top logprobs and logit bias per row.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Ajv } from "ajv";
import { loadModel } from "../../src/models/index.ts";
import type { SamplingInput } from "../../src/serving/sampling.ts";
import { FIXTURES, createEngine } from "./hosting-helpers.ts";

const SCHEMA = {
  type: "object",
  properties: {
    name: { type: "string", maxLength: 6 },
    age: { type: "integer" },
    ok: { type: "boolean" },
    tags: { type: "array", items: { enum: ["x", "y"] }, maxItems: 2 },
  },
  required: ["name", "age", "ok"],
  additionalProperties: false,
};

for (const dir of [`${FIXTURES}/tiny-llama`, "models/sprig-base"]) {
  test(`constrained decoding (${dir}): mixed batch, outputs parse and validate, rows as alone`, async () => {
    const model = await loadModel(dir);
    const engine = await createEngine({ model, maxBatchSize: 8, threads: 1 });
    const validate = new Ajv().compile(SCHEMA);
    try {
      const tok = model.tokenizer!;
      const prompt = await tok.encode("Once upon a time", { addSpecialTokens: true });
      const maxTokens = Math.min(48, model.config.maxPositions - prompt.length - 1);
      const rows: SamplingInput[] = [
        { temperature: 0, maxTokens },
        { temperature: 0, maxTokens, responseFormat: { type: "json_object" } },
        { temperature: 1, seed: 7, maxTokens, responseFormat: { type: "json_object" } },
        { temperature: 0, maxTokens, responseFormat: { type: "json_schema", schema: SCHEMA } },
        { temperature: 1, seed: 3, maxTokens, responseFormat: { type: "json_schema", schema: SCHEMA } },
        { temperature: 0.8, topP: 0.9, topK: 40, seed: 5, maxTokens, responseFormat: { type: "json_schema", schema: SCHEMA } },
        { temperature: 1.5, seed: 11, maxTokens, responseFormat: { type: "json_schema", schema: SCHEMA } },
      ];
      const together = await Promise.all(rows.map((sampling) => engine.submit({ promptIds: prompt, sampling })));
      const alone: Awaited<ReturnType<typeof engine.submit>>[] = [];
      for (const sampling of rows) alone.push(await engine.submit({ promptIds: prompt, sampling }));
      together.forEach((g, i) => {
        assert.deepEqual(g.ids, alone[i]!.ids, `row ${i} differs in a batch from alone`);
        if (i === 0) return;
        assert.equal(g.finishReason, "stop", `row ${i}: ${g.text}`);
        assert.ok(g.ids.length <= maxTokens);
        const value = JSON.parse(g.text!) as unknown;
        assert.ok(typeof value === "object" && value !== null && !Array.isArray(value), g.text!);
        if (i >= 3) assert.ok(validate(value), `row ${i}: ${g.text} ${JSON.stringify(validate.errors)}`);
      });
      // a budget too small for the schema's shortest document is refused up front
      await assert.rejects(
        engine.submit({ promptIds: prompt, sampling: { maxTokens: 5, responseFormat: { type: "json_schema", schema: SCHEMA } } }),
        /below the shortest output/,
      );
      await assert.rejects(
        engine.submit({
          promptIds: prompt,
          sampling: { maxTokens: 30, responseFormat: { type: "json_schema", schema: { type: "string", format: "date" } } },
        }),
        /keyword "format"/,
      );
    } finally {
      await engine.close();
    }
  });
}

test("constrained decoding needs a tokenizer: a model without one refuses json formats", async () => {
  const model = await loadModel(`${FIXTURES}/tiny-gpt2`);
  const engine = await createEngine({ model, maxBatchSize: 2, threads: 1 });
  try {
    await assert.rejects(
      engine.submit({ promptIds: [1, 2], sampling: { maxTokens: 8, responseFormat: { type: "json_object" } } }),
      (e: unknown) => (e as { status?: number }).status === 400 && /needs the model's tokenizer/.test(String(e)),
    );
  } finally {
    await engine.close();
  }
});

test("top logprobs and logit bias, per row", async () => {
  const model = await loadModel(`${FIXTURES}/tiny-llama`);
  const engine = await createEngine({ model, maxBatchSize: 4, threads: 1 });
  try {
    const prompt = [1, 40, 41, 42];
    const [plain, top, banned] = await Promise.all([
      engine.submit({ promptIds: prompt, sampling: { temperature: 0, maxTokens: 6 } }),
      engine.submit({ promptIds: prompt, sampling: { temperature: 0, maxTokens: 6, topLogprobs: 20 } }),
      // ban the greedy first token: the row must pick another one
      engine
        .submit({ promptIds: prompt, sampling: { temperature: 0, maxTokens: 6, logitBias: {} } })
        .then((g) => engine.submit({ promptIds: prompt, sampling: { temperature: 0, maxTokens: 6, logitBias: { [g.ids[0]!]: -100 } } })),
    ]);
    assert.deepEqual(top.ids, plain.ids);
    assert.equal(top.topLogprobs!.length, top.ids.length);
    top.topLogprobs!.forEach((list, i) => {
      assert.equal(list.length, 20);
      // greedy: the chosen token is the most likely one, with its own log-probability
      assert.equal(list[0]!.id, top.ids[i]);
      assert.ok(Math.abs(list[0]!.logprob - top.logprobs[i]!) < 1e-5);
      for (let k = 1; k < list.length; k++) assert.ok(list[k]!.logprob <= list[k - 1]!.logprob);
      const mass = list.reduce((s, x) => s + Math.exp(x.logprob), 0);
      assert.ok(mass <= 1 + 1e-5);
    });
    assert.equal(plain.topLogprobs, undefined);
    assert.notEqual(banned.ids[0], plain.ids[0]);
    await assert.rejects(engine.submit({ promptIds: prompt, sampling: { logitBias: { "999": 5 } } }), /outside the vocabulary/);
    await assert.rejects(engine.submit({ promptIds: prompt, sampling: { topLogprobs: 21 } }), /topLogprobs/);
  } finally {
    await engine.close();
  }
});
