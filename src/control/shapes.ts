// Sprig's unit shapes: what one unit (one worker process) of a dedicated AI cluster gets. OCI names its
// shapes after the model family (LARGE_COHERE, SMALL_COHERE_V2, …); Sprig's name the machine share.

export interface UnitShape {
  name: string;
  /** compute threads of each unit's worker process (0 = all cores) */
  threads: number;
  description: string;
}

export const UNIT_SHAPES: readonly UnitShape[] = [
  { name: "SPRIG_CPU_SMALL", threads: 1, description: "one CPU thread per unit: many small units side by side" },
  { name: "SPRIG_CPU_MEDIUM", threads: 2, description: "two CPU threads per unit" },
  { name: "SPRIG_CPU_LARGE", threads: 0, description: "every core of the machine per unit" },
];

export const DEFAULT_UNIT_SHAPE = "SPRIG_CPU_SMALL";
export const SHAPE_NAMES = UNIT_SHAPES.map((s) => s.name) as [string, ...string[]];

export function shape(name: string): UnitShape {
  return UNIT_SHAPES.find((s) => s.name === name) ?? UNIT_SHAPES[0]!;
}
