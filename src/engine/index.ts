// The engine's public surface: graph IR, ops, composites, autodiff, ONNX lowering, runtime, reference interpreter.
export * from "./ir/dim.ts";
export * from "./ir/dtype.ts";
export { Graph, GraphError, Tensor, type Node, ancestors } from "./ir/graph.ts";
export { OP_SPECS, type OpName, type OpAttrMap } from "./ir/op-specs.ts";
export * as op from "./ir/ops.ts";
export * as nn from "./ir/composites.ts";
export * from "./ir/host-tensor.ts";
export { Rng } from "./rng.ts";
export { grad, type GradOptions } from "./autodiff/grad.ts";
export { GRAD_RULES, NoGradientError } from "./autodiff/rules.ts";
export { compile, Compiled, type CompileOptions, type RunOptions } from "./runtime/compile.ts";
export { FeedError } from "./runtime/feeds.ts";
export { type FloatAlloc, PLAIN_ALLOC, floatAlloc, markWritten } from "./runtime/shared-memory.ts";
export { lowerGraph, type LoweredModel } from "./onnx/lower.ts";
export {
  type QuantSpec,
  type QuantizedMatrix,
  checkQuantSpec,
  dequantizeBlockwise,
  kBlocks,
  quantizeBlockwise,
  quantizedBytes,
} from "./quant/blockwise.ts";
