// The adapters layer as other layers import it: everything here is what they may use.
export { adaptedModules, type Adapter, expectedAdapterTensors } from "./adapter.ts";
export { baseFingerprint } from "./fingerprint.ts";
export { createIa3, defaultIa3Config, mergeIa3 } from "./ia3.ts";
export { ADAPTER_KINDS, adapterKind, type AdapterKindName, KIND_ORDER, type PeftType } from "./kinds.ts";
export { createLora, loraConfig, loraScale, mergeLora } from "./lora.ts";
export { type Ia3Config, type LoraConfig, type PeftConfig } from "./peft-config.ts";
export {
  ADAPTER_CONFIG,
  ADAPTER_WEIGHTS,
  AdapterFitError,
  adapterTensorProblems,
  checkAdapterTensors,
  loadAdapter,
  loadAdapterSync,
  otherBase,
  parsePeftConfig,
  readAdapterMeta,
  readAdapterMetaSync,
  saveAdapter,
  SPRIG_META,
} from "./peft-io.ts";
