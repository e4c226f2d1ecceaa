// The models layer's public surface.
export { type LoadedModel, loadModel, weightBytes } from "./load.ts";
export { type ModelConfig, loadHfConfig, parseHfConfig, SUPPORTED_MODEL_TYPES } from "./io/hf-config.ts";
export { expectedTensors } from "./io/weights.ts";
export { type SprigTokenizer, loadTokenizer } from "./io/tokenizer.ts";
export { buildCausalLM, type CausalLM, type CausalLMOptions, embeddingName, lmHeadWeight } from "./graph/causal-lm.ts";
export { type ModelHooks, type ProjectionCall } from "./graph/hooks.ts";
export { type WeightSource, weightSource } from "./graph/weight-source.ts";
export { type LinearModule, linearModules } from "./graph/modules.ts";
