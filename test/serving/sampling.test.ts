// The sampler: greedy, seeded reproducibility, top-k/top-p truncation, penalties, option validation.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Sampler, argmax, logSoftmaxAt, samplingOptions } from "../../src/serving/sampling.ts";

const logits = Float32Array.from([1, 3, 2, 0.5, 2.9]);
const draw = (opts: Parameters<typeof samplingOptions>[0], n = 400, prompt: number[] = []) => {
  const s = new Sampler(samplingOptions(opts), prompt);
  return Array.from({ length: n }, () => s.pick(logits).id);
};

test("temperature 0 is argmax, with the raw log-probability", () => {
  const { id, logprob } = new Sampler(samplingOptions({ temperature: 0 }), []).pick(logits);
  assert.equal(id, 1);
  const z = [...logits].reduce((a, v) => a + Math.exp(v), 0);
  assert.ok(Math.abs(logprob - (3 - Math.log(z))) < 1e-6);
  assert.equal(argmax(logits), 1);
  assert.ok(Math.abs(logSoftmaxAt(logits, 1) - logprob) < 1e-12);
});

test("the same seed gives the same tokens; another seed differs", () => {
  assert.deepEqual(draw({ seed: 5 }, 50), draw({ seed: 5 }, 50));
  assert.notDeepEqual(draw({ seed: 5 }, 50), draw({ seed: 6 }, 50));
});

test("top-k keeps only the k most likely tokens", () => {
  assert.deepEqual(new Set(draw({ topK: 2, seed: 1 })), new Set([1, 4]));
});

test("top-p keeps the smallest nucleus reaching p", () => {
  // probabilities ∝ e^[1,3,2,0.5,2.9]: tokens 1 and 4 hold ~0.67 of the mass
  assert.deepEqual(new Set(draw({ topP: 0.6, seed: 2 })), new Set([1, 4]));
  const all = new Set(draw({ topP: 1, seed: 3, temperature: 3 }, 2000));
  assert.equal(all.size, 5);
});

test("sampling frequencies follow the softmax at temperature 1", () => {
  const n = 20000;
  const counts = new Array(5).fill(0);
  for (const id of draw({ seed: 9 }, n)) counts[id]++;
  const z = [...logits].reduce((a, v) => a + Math.exp(v), 0);
  counts.forEach((c, i) => assert.ok(Math.abs(c / n - Math.exp(logits[i]!) / z) < 0.02, `token ${i}: ${c / n}`));
});

test("repetition penalty discourages prompt tokens; presence/frequency penalties discourage output tokens", () => {
  const greedyRep = new Sampler(samplingOptions({ temperature: 0, repetitionPenalty: 2 }), [1]);
  assert.equal(greedyRep.pick(logits).id, 4); // 3/2 = 1.5 < 2.9
  const s = new Sampler(samplingOptions({ temperature: 0, presencePenalty: 2 }), []);
  assert.deepEqual([s.pick(logits).id, s.pick(logits).id, s.pick(logits).id], [1, 4, 2]);
  const f = new Sampler(samplingOptions({ temperature: 0, frequencyPenalty: 0.3 }), []);
  assert.deepEqual([f.pick(logits).id, f.pick(logits).id, f.pick(logits).id], [1, 4, 1]);
});

test("options are validated: unknown keys and out-of-range values are refused", () => {
  assert.throws(() => samplingOptions({ temperature: -1 }));
  assert.throws(() => samplingOptions({ topP: 0 }));
  assert.throws(() => samplingOptions({ maxTokens: 0 }));
  assert.throws(() => samplingOptions({ bogus: 1 } as never), /bogus|unrecognized/i);
});
