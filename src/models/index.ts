// The models layer's public surface.
export { type LoadedModel, loadModel, weightBytes } from "./load.ts";
export { type ModelConfig, loadHfConfig, parseHfConfig, SUPPORTED_MODEL_TYPES } from "./io/hf-config.ts";
export { expectedTensors } from "./io/weights.ts";
export { type SprigTokenizer, loadTokenizer } from "./io/tokenizer.ts";
export { buildCausalLM, type CacheLayout, type CausalLM, type CausalLMOptions, embeddingName, lmHeadWeight } from "./graph/causal-lm.ts";
export { type ModelHooks, type ProjectionCall } from "./graph/hooks.ts";
export { type WeightSource, weightSource } from "./graph/weight-source.ts";
export { type LinearModule, linearModules } from "./graph/modules.ts";
export { exportGguf, ggufProblem } from "./gguf-export.ts";
export { type HostWeight, type WeightMap } from "./graph/weight-source.ts";
export { HubError, pullModel, type PullProgress, type PullResult } from "./hub/pull.ts";
export { type ChatMessage } from "./io/chat-template.ts";
export { ModelIoError } from "./io/errors.ts";
export { loadTensors, numel, readSafetensors, readSafetensorsSync, type TensorToWrite, writeSafetensors } from "./io/safetensors.ts";
export {
  FORMAT_QUANTIZATION,
  type LinearQuantization,
  LinearQuantizer,
  quantizationOf,
  WEIGHT_FORMATS,
  type WeightFormat,
} from "./graph/weight-format.ts";
