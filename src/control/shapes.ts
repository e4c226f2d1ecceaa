// Sprig's unit shapes: what one unit (one worker process) of a dedicated AI cluster reserves on a node.
// OCI names its shapes after the model family (LARGE_COHERE, SMALL_COHERE_V2, …); Sprig's name the share.
// A unit holds whole cores (its process is pinned to them and sizes its thread pool to them) and a memory
// budget; placement (placement.ts) reserves both on one node.

const GiB = 1024 ** 3;

export interface UnitShape {
  name: string;
  /** whole CPU cores reserved per unit: the worker is pinned to them and runs this many compute threads */
  cores: number;
  /** memory budget per unit, in bytes (model weights, KV cache, the worker's JS heap) */
  memoryBytes: number;
  description: string;
}

export const UNIT_SHAPES: readonly UnitShape[] = [
  { name: "SPRIG_CPU_SMALL", cores: 1, memoryBytes: 2 * GiB, description: "1 core and 2 GiB per unit: many small units side by side" },
  { name: "SPRIG_CPU_MEDIUM", cores: 2, memoryBytes: 4 * GiB, description: "2 cores and 4 GiB per unit" },
  { name: "SPRIG_CPU_LARGE", cores: 4, memoryBytes: 8 * GiB, description: "4 cores and 8 GiB per unit" },
];

export const DEFAULT_UNIT_SHAPE = "SPRIG_CPU_SMALL";
export const SHAPE_NAMES = UNIT_SHAPES.map((s) => s.name) as [string, ...string[]];

/** The shape of this name; names are validated at the API boundary, so an unknown one is a stored-data bug. */
export function shape(name: string): UnitShape {
  const s = UNIT_SHAPES.find((x) => x.name === name);
  if (!s) throw new Error(`unknown unit shape ${name} (known: ${SHAPE_NAMES.join(", ")})`);
  return s;
}

/** How a unit's memory budget is split inside its worker process (see docs/operating.md). */
export function memoryBudget(memoryBytes: number): { heapMb: number; kvCacheBytes: number } {
  // a quarter for the V8 heap (prompts, tokenizer, bookkeeping), a quarter for the KV cache; the rest is
  // for the weights ONNX Runtime holds and its working memory
  return {
    heapMb: Math.max(128, Math.floor(memoryBytes / 4 / 1024 ** 2)),
    kvCacheBytes: Math.max(16 * 1024 ** 2, Math.floor(memoryBytes / 4)),
  };
}
