// The reference interpreter's public surface: evaluate graphs in float64, convert values, reach the kernels.
export { type EvaluateOptions, type Feed, type Feeds, bindSymbols, evaluate, evaluateHost } from "./interpreter.ts";
export { type NDArray, InterpreterError, broadcastShape, ndarray } from "./ndarray.ts";
export { castValues, fromHost, hostToFloat64, toHost } from "./host.ts";
export { KERNELS, type Kernel, type KernelContext } from "./kernels.ts";
export { erf } from "./erf.ts";
export { f16round, halfToNumber, numberToHalf } from "./float16.ts";
