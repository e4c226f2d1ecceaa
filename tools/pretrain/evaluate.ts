// Held-out loss of a model directory as loaded (e.g. the float16 weights that ship), on packed chunks.

import { compile } from "../../src/engine/index.ts";
import type { LoadedModel } from "../../src/models/index.ts";
import { buildTrainGraph } from "../../src/training/train-graph.ts";
import { type Chunks, batchFeeds } from "./packing.ts";

export async function evaluateModel(
  model: LoadedModel,
  data: Chunks,
  batchSize: number,
  threads: number,
): Promise<{ loss: number; tokens: number }> {
  // no trainable weights: every weight is an initializer, as in serving
  const eg = buildTrainGraph(model, { method: "vanilla", trainableWeight: () => false, withGrads: false });
  const c = await compile(eg.graph, { intraOpThreads: threads, outputs: ["loss_sum", "tokens"] });
  try {
    let sum = 0;
    let tokens = 0;
    for (let start = 0; start + batchSize <= data.count; start += batchSize) {
      const out = await c.run(
        batchFeeds(
          data,
          Array.from({ length: batchSize }, (_, i) => start + i),
        ),
      );
      sum += (out.loss_sum!.data as Float32Array)[0]!;
      tokens += (out.tokens!.data as Float32Array)[0]!;
    }
    return { loss: sum / tokens, tokens };
  } finally {
    await c.dispose();
  }
}
