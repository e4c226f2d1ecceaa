// Streaming: token events arrive in order and add up to the final generation (ids and text, with a
// stop sequence cut); leaving the loop early cancels the request and frees its slot; refusals throw
// synchronously, before any event.

import assert from "node:assert/strict";
import { test } from "node:test";
import { loadModel } from "../../src/models/index.ts";
import { UnknownModelError } from "../../src/serving/hosting/errors.ts";
import { FIXTURES, Reference, prompts, createEngine } from "./hosting-helpers.ts";

test("stream: events add up to the generation; breaking out cancels; refusals throw at once", async () => {
  const model = await loadModel(`${FIXTURES}/tiny-llama`);
  const engine = await createEngine({ model, maxBatchSize: 1, threads: 1 });
  const ref = new Reference(model);
  try {
    const p = await model.tokenizer!.encode("Once upon a time", { addSpecialTokens: true });
    const sampling = { temperature: 0, maxTokens: 12 };
    const want = await ref.alone(null, p, sampling);
    const ids: number[] = [];
    let text = "";
    let done = null;
    for await (const ev of engine.stream({ promptIds: p, sampling })) {
      if (ev.type === "token") {
        assert.equal(ev.token.index, ids.length);
        ids.push(ev.token.id);
        text += ev.token.text;
      } else done = ev.generation;
    }
    assert.ok(done);
    assert.deepEqual(ids, want.ids);
    assert.deepEqual(done.ids, want.ids);
    assert.equal(text, want.text);
    assert.equal(done.text, want.text);
    assert.equal(done.promptTokens, p.length);

    // a stop sequence: the streamed text stops before it, like the final text
    const stopAt = want.text!.slice(3, 5);
    const stopped = await ref.alone(null, p, { ...sampling, stop: [stopAt] });
    let streamed = "";
    for await (const ev of engine.stream({ promptIds: p, sampling: { ...sampling, stop: [stopAt] } }))
      if (ev.type === "token") streamed += ev.token.text;
    assert.equal(streamed, stopped.text);
    assert.ok(!streamed.includes(stopAt));

    // leave after two tokens: the request is cancelled and the single slot serves the next one
    let n = 0;
    for await (const ev of engine.stream({ promptIds: p, sampling: { temperature: 0, maxTokens: 40 } }))
      if (ev.type === "token" && ++n === 2) break;
    const next = await engine.submit({ promptIds: prompts(model.config, 1, 1)[0]!, sampling: { temperature: 0, maxTokens: 3 } });
    assert.ok(next.ids.length > 0);
    assert.equal(engine.stats().totals.cancelled, 1);
    assert.throws(() => engine.stream({ adapter: "missing", promptIds: p }), UnknownModelError);
  } finally {
    await engine.close();
    await ref.dispose();
  }
});
