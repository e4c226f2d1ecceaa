// `node --import tsx tools/tasks/zero-shot.ts [MODEL_DIR] [task,task…]`: how well a base model does the
// bundled tasks with no training, on their test files. Choices: the choice with the lowest mean token
// loss. Completions: token accuracy and exact match under teacher forcing (every completion token the
// argmax = what greedy decoding would produce).

import { readFileSync } from "node:fs";
import { type HostTensor, compile } from "../../src/engine/index.ts";
import { loadModel } from "../../src/models/index.ts";
import { parseDataset } from "../../src/training/data.ts";
import { buildTrainGraph } from "../../src/training/train-graph.ts";
import { TASKS } from "./main.ts";

const [dir = "models/sprig-base", only] = process.argv.slice(2);
const model = await loadModel(dir);
const graph = buildTrainGraph(model, { method: "vanilla", trainableWeight: () => false, withGrads: false });
const c = await compile(graph.graph, { intraOpThreads: 2, outputs: ["loss_sum", "correct"] });
const big = (a: number[]) => BigInt64Array.from(a, (v) => BigInt(v));

async function score(prompt: number[], completion: number[]): Promise<{ nll: number; correct: number }> {
  const ids = [...prompt, ...completion];
  const T = ids.length;
  const feeds: Record<string, HostTensor> = {
    input_ids: { dtype: "int64", shape: [1, T], data: big(ids) },
    position_ids: { dtype: "int64", shape: [1, T], data: big(ids.map((_, i) => i)) },
    labels: { dtype: "int64", shape: [1, T], data: big([...prompt.map(() => -100), ...completion]) },
  };
  const o = await c.run(feeds);
  return { nll: (o.loss_sum!.data as Float32Array)[0]!, correct: (o.correct!.data as Float32Array)[0]! };
}

try {
  for (const task of TASKS.filter((t) => !only || only.split(",").includes(t.name))) {
    const examples = await parseDataset(readFileSync(`data/tasks/${task.name}/test.jsonl`), model);
    let right = 0;
    let tokens = 0;
    let correct = 0;
    for (const e of examples) {
      if (e.choices) {
        const s = await Promise.all(e.choices.map(async (ch) => (await score(e.prompt, ch)).nll / ch.length));
        if (s.indexOf(Math.min(...s)) === e.label) right++;
      } else {
        const s = await score(e.prompt, e.completion);
        tokens += e.completion.length;
        correct += s.correct;
        if (s.correct === e.completion.length) right++;
      }
    }
    const acc = (right / examples.length).toFixed(3);
    console.log(
      `${task.name}: ${examples[0]!.choices ? `choice accuracy ${acc}` : `exact match ${acc}, token accuracy ${(correct / tokens).toFixed(3)}`} (${examples.length} test examples)`,
    );
  }
} finally {
  await c.dispose();
}
