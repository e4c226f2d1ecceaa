// The demo layer as other layers import it: everything here is what they may use.
export { DEFAULT_DATASETS } from "./datasets.ts";
export { DEMO_LEARNING_RATE, runDemo } from "./run.ts";
