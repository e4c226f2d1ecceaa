// The fine-tuning methods' record (training/methods.ts) and each method's fresh start (method-setup.ts) are
// keyed alike and must agree: the adapter kind a method names is the one its setup trains, a method
// without one trains base weights, and its graphs take the adapter's tensors or the weights as inputs.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ADAPTER_KINDS } from "../../src/adapters/kinds.ts";
import { loadModel } from "../../src/models/index.ts";
import { resolveTrainingConfig } from "../../src/training/config.ts";
import { setupMethod } from "../../src/training/method-setup.ts";
import { METHOD_NAMES, METHODS } from "../../src/training/methods.ts";

test("each method's setup trains what METHODS says it does", async () => {
  const model = await loadModel("test/fixtures/models/tiny-llama");
  assert.deepEqual(Object.keys(METHODS).sort(), [...METHOD_NAMES].sort());
  for (const method of METHOD_NAMES) {
    const info = METHODS[method];
    const setup = setupMethod(model, method, resolveTrainingConfig(method, {}), false, null);
    if (info.adapter === null) {
      assert.equal(setup.adapter, undefined, method);
      assert.equal(info.artifact, "FULL", method);
      assert.ok(
        setup.train.trainable.every((k) => model.weights.has(k)),
        `${method}: trains base weights`,
      );
    } else {
      assert.equal(setup.adapter?.config.peft_type, info.adapter, method);
      assert.equal(info.artifact, "ADAPTER", method);
      assert.ok(ADAPTER_KINDS[info.adapter], `${method}: a known adapter kind`);
      assert.deepEqual(
        [...setup.train.trainable].sort(),
        [...setup.adapter!.tensors.keys()].sort(),
        `${method}: trains the adapter's tensors`,
      );
    }
    assert.deepEqual(setup.evaluation.trainable, setup.train.trainable, `${method}: evaluation takes the same tensors`);
  }
});
