// Extension points through which adapters (T-Few, LoRA) change a model graph without the model
// builders knowing about them. Module names are the Hugging Face ones ("self_attn.k_proj", "mlp.down_proj",
// GPT-2 "attn.c_attn", "mlp.c_proj").

import type { Tensor } from "../../engine/index.ts";

export interface ProjectionCall {
  layer: number;
  /** module name within the layer, e.g. "self_attn.k_proj" */
  module: string;
  /** full Hugging Face module path, e.g. "model.layers.0.self_attn.k_proj" (PEFT keys build on it) */
  path: string;
  /** input of the projection. x: (B, T, in) */
  x: Tensor;
  /** the base projection (weight and bias as loaded). returns (B, T, out) */
  base: (x: Tensor) => Tensor;
}

export interface ModelHooks {
  /** wraps every linear projection of every layer; default: call.base(call.x) */
  projection?: (call: ProjectionCall) => Tensor;
}

export function project(hooks: ModelHooks | undefined, call: ProjectionCall): Tensor {
  return hooks?.projection ? hooks.projection(call) : call.base(call.x);
}
