// Where a graph's base weights come from: frozen initializers (inference, T-Few, LoRA) or trainable
// graph inputs (vanilla fine-tuning), and for quantized inference graphs the projections' quantized form.
// Names are the checkpoint's Hugging Face keys.

import { Graph, type Tensor } from "../../engine/index.ts";
import type { LinearQuantizer } from "./weight-format.ts";

export interface HostWeight {
  shape: number[];
  data: Float32Array;
}

export type WeightMap = ReadonlyMap<string, HostWeight>;

export interface WeightSource {
  /** the tensor for a checkpoint key; each key becomes one graph leaf, reused on repeated calls */
  get(name: string): Tensor;
  /** keys fed as graph inputs (trainable), in the order they were first requested */
  readonly trainable: string[];
  /** when set, base projections (and the LM head if its settings say so) multiply quantized weights */
  readonly quantized: LinearQuantizer | null;
}

/**
 * Weights from `weights`; those for which `isTrainable(name)` holds become float32 graph inputs
 * named after the key, the rest initializers.
 */
export function weightSource(
  graph: Graph,
  weights: WeightMap,
  isTrainable: (name: string) => boolean = () => false,
  quantized: LinearQuantizer | null = null,
): WeightSource {
  const made = new Map<string, Tensor>();
  const trainable: string[] = [];
  return {
    trainable,
    quantized,
    get(name: string): Tensor {
      const hit = made.get(name);
      if (hit) return hit;
      const w = weights.get(name);
      if (!w) throw new Error(`weight '${name}' is not loaded`);
      let t: Tensor;
      if (isTrainable(name)) {
        t = graph.input(name, "float32", w.shape);
        trainable.push(name);
      } else t = graph.initializer(name, "float32", w.shape, w.data);
      made.set(name, t);
      return t;
    },
  };
}
