// HF config.json parsing for each family (fixtures written by transformers 4.57), defaults, errors that name
// the file and every bad field, and RoPE inverse frequencies with llama3 scaling.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ModelIoError } from "../../../src/models/io/errors.ts";
import { type ModelConfig, loadHfConfig, parseHfConfig, ropeInverseFrequencies } from "../../../src/models/io/hf-config.ts";

const FIXTURES = "test/fixtures/models";

const llamaBase = {
  model_type: "llama",
  vocab_size: 100,
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
};

test("llama: the stories260K checkpoint's config", async () => {
  const c = await loadHfConfig("test/fixtures/models/stories260K-hf");
  assert.deepEqual(c, {
    family: "llama", vocabSize: 512, hiddenSize: 64, numLayers: 5, numHeads: 8, numKvHeads: 4, headDim: 8,
    intermediateSize: 172, maxPositions: 512, positionEmbedding: "rope", normKind: "rms", normEps: 1e-5,
    activation: "silu", ropeTheta: 10000, ropeScaling: null, slidingWindow: null, tieWordEmbeddings: true,
    attentionBias: false, oBias: false, mlpBias: false, bosTokenId: 1, eosTokenIds: [2], torchDtype: "float32",
  } satisfies ModelConfig);
});

test("llama3 rope scaling, qwen2 biases, mistral window and gpt2 defaults from transformers-written configs", async () => {
  const llama3 = await loadHfConfig(`${FIXTURES}/tiny-llama3`);
  assert.deepEqual(llama3.ropeScaling, { type: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 32 });
  assert.equal(llama3.headDim, 16); // head_dim given, != hidden / heads
  assert.equal(llama3.tieWordEmbeddings, true);

  const qwen = await loadHfConfig(`${FIXTURES}/tiny-qwen2`);
  assert.equal(qwen.family, "qwen2");
  assert.deepEqual([qwen.attentionBias, qwen.oBias, qwen.mlpBias], [true, false, false]);
  assert.equal(qwen.headDim, 8);
  assert.equal(qwen.normEps, 1e-6);

  const mistral = await loadHfConfig(`${FIXTURES}/tiny-mistral`);
  assert.equal(mistral.family, "mistral");
  assert.equal(mistral.slidingWindow, null); // explicit null in the file
  assert.equal(mistral.headDim, 8); // head_dim: null -> hidden / heads
  assert.equal(mistral.tieWordEmbeddings, false);

  const gpt2 = await loadHfConfig(`${FIXTURES}/tiny-gpt2`);
  assert.equal(gpt2.family, "gpt2");
  assert.deepEqual(
    [gpt2.hiddenSize, gpt2.numLayers, gpt2.numHeads, gpt2.numKvHeads, gpt2.headDim, gpt2.intermediateSize, gpt2.maxPositions],
    [32, 2, 4, 4, 8, 128, 64],
  );
  assert.deepEqual([gpt2.normKind, gpt2.activation, gpt2.positionEmbedding, gpt2.ropeTheta], ["layer", "gelu_tanh", "learned", null]);
  assert.equal(gpt2.tieWordEmbeddings, true); // GPT-2 ties by default; the file does not say
  assert.deepEqual([gpt2.attentionBias, gpt2.oBias, gpt2.mlpBias], [true, true, true]);
  assert.equal(gpt2.torchDtype, "float32"); // from the newer `dtype` key
});

test("optional keys take the transformers class defaults; extra keys are ignored", () => {
  const c = parseHfConfig({ ...llamaBase, some_future_key: { anything: [1] }, eos_token_id: [2, 7] }, "x/config.json");
  assert.deepEqual(
    [c.numKvHeads, c.headDim, c.maxPositions, c.normEps, c.ropeTheta, c.activation, c.tieWordEmbeddings, c.bosTokenId, c.eosTokenIds, c.torchDtype],
    [4, 8, 2048, 1e-6, 10000, "silu", false, 1, [2, 7], null],
  );
  const m = parseHfConfig({ ...llamaBase, model_type: "mistral" }, "m");
  assert.equal(m.slidingWindow, 4096);
  const llamaBiases = parseHfConfig({ ...llamaBase, attention_bias: true, mlp_bias: true }, "b");
  assert.deepEqual([llamaBiases.attentionBias, llamaBiases.oBias, llamaBiases.mlpBias], [true, true, true]);
  const gpt2 = parseHfConfig({ model_type: "gpt2", vocab_size: 10, n_embd: 8, n_layer: 1, n_head: 2, n_inner: 20, tie_word_embeddings: false }, "g");
  assert.deepEqual([gpt2.intermediateSize, gpt2.maxPositions, gpt2.tieWordEmbeddings, gpt2.eosTokenIds], [20, 1024, false, [50256]]);
});

test("transformers v5 rope_parameters are understood", () => {
  const c = parseHfConfig(
    { ...llamaBase, rope_parameters: { rope_type: "llama3", rope_theta: 500000, factor: 32, low_freq_factor: 1, high_freq_factor: 4 }, max_position_embeddings: 128 },
    "v5",
  );
  assert.equal(c.ropeTheta, 500000);
  assert.deepEqual(c.ropeScaling, { type: "llama3", factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 128 });
  assert.equal(parseHfConfig({ ...llamaBase, rope_parameters: { rope_type: "default", rope_theta: 1e6 } }, "v5").ropeTheta, 1e6);
});

const problemsOf = (raw: unknown): string => {
  try {
    parseHfConfig(raw, "models/bad/config.json");
  } catch (e) {
    assert.ok(e instanceof ModelIoError);
    assert.equal(e.file, "models/bad/config.json");
    return e.message;
  }
  assert.fail("expected an error");
};

test("missing and mistyped fields are all reported in one error naming the file", () => {
  const msg = problemsOf({ model_type: "llama", vocab_size: "100", hidden_size: 32.5, num_attention_heads: 4, eos_token_id: "x" });
  assert.match(msg, /^models\/bad\/config.json: invalid model config:/);
  assert.match(msg, /vocab_size: .*expected number.*\(found "100"\)/);
  assert.match(msg, /hidden_size: .*expected int.*\(found 32.5\)/);
  assert.match(msg, /intermediate_size: missing \(required\)/);
  assert.match(msg, /num_hidden_layers: missing \(required\)/);
  assert.match(msg, /eos_token_id: expected a token id, a list of ids or null/);
  assert.doesNotMatch(msg, /num_attention_heads/);
  assert.match(problemsOf({ model_type: "gpt2", vocab_size: 10 }), /n_embd: missing[\s\S]*n_layer: missing[\s\S]*n_head: missing/);
  assert.match(problemsOf({ ...llamaBase, num_key_value_heads: 3 }), /num_attention_heads 4 is not a multiple of num_key_value_heads 3/);
  assert.match(problemsOf({ ...llamaBase, hidden_size: 30 }), /hidden_size 30 is not divisible by num_attention_heads 4/);
});

test("unsupported model types, rope types and activations are named", () => {
  assert.match(problemsOf({ ...llamaBase, model_type: "bert" }), /model_type "bert" is not supported; supported model types: llama, qwen2, mistral, gpt2/);
  assert.match(problemsOf({ vocab_size: 3 }), /model_type: missing \(required\); supported model types/);
  assert.match(problemsOf({ ...llamaBase, rope_scaling: { rope_type: "yarn", factor: 4 } }), /rope type "yarn" is not supported \(supported: default, llama3\)/);
  assert.match(problemsOf({ ...llamaBase, rope_scaling: { type: "linear", factor: 2 } }), /rope type "linear" is not supported/);
  assert.match(problemsOf({ ...llamaBase, rope_scaling: { rope_type: "llama3", factor: 8 } }), /low_freq_factor: missing \(required\)[\s\S]*high_freq_factor: missing/);
  assert.match(problemsOf({ ...llamaBase, hidden_act: "quick_gelu" }), /hidden_act: activation "quick_gelu" is not supported \(supported: silu/);
  assert.match(problemsOf({ ...llamaBase, model_type: "qwen2", use_sliding_window: true }), /use_sliding_window: true is not supported/);
  assert.match(problemsOf("not an object"), /expected a JSON object/);
});

test("a missing or malformed config.json is reported with its path", async () => {
  await assert.rejects(loadHfConfig("test/models/io/no-such-dir"), /no-such-dir\/config.json: cannot read model config \(ENOENT\)/);
});

test("RoPE inverse frequencies: plain, and llama3-scaled as transformers computes them", () => {
  const plain = ropeInverseFrequencies({ headDim: 8, ropeTheta: 10000, ropeScaling: null });
  assert.deepEqual([...plain], [1, 0.1, 0.01, 0.001].map(Math.fround));

  const scaling = { type: "llama3" as const, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 32 };
  const headDim = 16;
  const scaled = ropeInverseFrequencies({ headDim, ropeTheta: 10000, ropeScaling: scaling });
  // Reference in float64, following _compute_llama3_parameters.
  const lowWavelen = 32 / 1;
  const highWavelen = 32 / 4;
  const bands = { kept: 0, scaled: 0, smoothed: 0 };
  for (let i = 0; i < headDim / 2; i++) {
    const inv = 1 / 10000 ** ((2 * i) / headDim);
    const wavelen = (2 * Math.PI) / inv;
    let expected: number;
    if (wavelen < highWavelen) {
      expected = inv;
      bands.kept++;
    } else if (wavelen > lowWavelen) {
      expected = inv / 8;
      bands.scaled++;
    } else {
      const smooth = (32 / wavelen - 1) / (4 - 1);
      expected = ((1 - smooth) * inv) / 8 + smooth * inv;
      bands.smoothed++;
    }
    assert.ok(Math.abs(scaled[i]! - expected) <= 1e-6 * expected, `i=${i}: ${scaled[i]} vs ${expected}`);
  }
  assert.deepEqual(bands, { kept: 1, scaled: 6, smoothed: 1 }); // the test config exercises all three bands
  assert.throws(() => ropeInverseFrequencies({ headDim: 8, ropeTheta: null, ropeScaling: null }), /no rotary embeddings/);
});
