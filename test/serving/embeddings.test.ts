// Embeddings through the hosting engine: unit length; a batch (right-padded) gives each input what it
// gets alone; a fresh T-Few adapter (all ones) reproduces the base, a perturbed one changes the vectors
// through its table row; bad inputs are 400s.

import assert from "node:assert/strict";
import { test } from "node:test";
import { createIa3 } from "../../src/adapters/ia3.ts";
import { loadModel } from "../../src/models/index.ts";
import { FIXTURES, randomIa3, createEngine } from "./hosting-helpers.ts";

const close = (a: Float32Array, b: Float32Array, tol = 1e-5) => a.every((x, i) => Math.abs(x - b[i]!) < tol);

test("embeddings: unit length, batch = alone, adapters through their table row", async () => {
  const model = await loadModel(`${FIXTURES}/tiny-llama`);
  const engine = await createEngine({ model, maxBatchSize: 4, maxPrefillTokens: 64, threads: 1 });
  try {
    const inputs = [
      [1, 5, 9, 30],
      [1, 7],
      [1, 100, 101, 102, 103, 104, 105],
      [1, 7],
      [1, 44, 45],
    ];
    const { embeddings, promptTokens } = await engine.embed({ inputs });
    assert.equal(embeddings.length, 5);
    assert.equal(promptTokens, 4 + 2 + 7 + 2 + 3);
    for (const e of embeddings) {
      assert.equal(e.length, model.config.hiddenSize);
      assert.ok(Math.abs(Math.hypot(...e) - 1) < 1e-5);
    }
    for (const [i, x] of inputs.entries())
      assert.ok(close(embeddings[i]!, (await engine.embed({ inputs: [x] })).embeddings[0]!), `input ${i}`);
    assert.ok(close(embeddings[1]!, embeddings[3]!));
    assert.ok(!close(embeddings[0]!, embeddings[1]!, 1e-3));

    await engine.activate("ones", createIa3(model.config));
    await engine.activate("tfew", randomIa3(model.config, 3));
    const ones = (await engine.embed({ adapter: "ones", inputs })).embeddings;
    const tfew = (await engine.embed({ adapter: "tfew", inputs })).embeddings;
    inputs.forEach((_, i) => {
      assert.ok(close(ones[i]!, embeddings[i]!));
      assert.ok(!close(tfew[i]!, embeddings[i]!, 1e-3));
    });
    await assert.rejects(engine.embed({ inputs: [[]] }), /inputs\[0\]: prompt is empty/);
    await assert.rejects(engine.embed({ inputs: [[1, 99999]] }), /outside the vocabulary/);
    await assert.rejects(engine.embed({ adapter: "nope", inputs: [[1]] }), /no active model/);
  } finally {
    await engine.close();
  }
});
