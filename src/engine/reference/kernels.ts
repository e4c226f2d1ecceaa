// The reference kernel table: one naive float64 kernel per primitive op. Its type makes TypeScript
// reject the build when op-specs gains an op that has no kernel here.

import type { OpName } from "../ir/op-specs.ts";
import { fromHost } from "./host.ts";
import type { Kernel } from "./kernel-types.ts";
import { binaryKernels, castKernel, identityKernel, unaryKernels, whereKernel } from "./kernels-elementwise.ts";
import { logSoftmaxKernel, softmaxCrossEntropyKernel, softmaxKernel, swiGluKernel } from "./kernels-fused.ts";
import { gatherElementsKernel, gatherKernel, scatterElementsAddKernel, scatterNDAddKernel } from "./kernels-index.ts";
import { matmulKernel, matmulNBitsKernel, reduceKernels } from "./kernels-reduce.ts";
import {
  concatKernel,
  dimValueKernel,
  expandKernel,
  padKernel,
  rangeKernel,
  reshapeKernel,
  sliceKernel,
  squeezeKernel,
  transposeKernel,
  unsqueezeKernel,
} from "./kernels-shape.ts";

export type { Kernel, KernelContext } from "./kernel-types.ts";

export const KERNELS: { [O in OpName]: Kernel<O> } = {
  Input: (_, { name }, ctx) => ctx.feed(name),
  Initializer: (_, { name, dtype, shape, data }) => fromHost({ dtype, shape, data }, `initializer '${name}'`),
  Constant: (_, { dtype, shape, data }) => fromHost({ dtype, shape, data }, "constant"),
  ...binaryKernels,
  ...unaryKernels,
  Where: whereKernel,
  Cast: castKernel,
  Identity: identityKernel,
  MatMul: matmulKernel,
  MatMulNBits: matmulNBitsKernel,
  ...reduceKernels,
  Softmax: softmaxKernel,
  LogSoftmax: logSoftmaxKernel,
  SwiGlu: swiGluKernel,
  SoftmaxCrossEntropy: softmaxCrossEntropyKernel,
  Reshape: reshapeKernel,
  Transpose: transposeKernel,
  Slice: sliceKernel,
  Concat: concatKernel,
  Gather: gatherKernel,
  GatherElements: gatherElementsKernel,
  ScatterElementsAdd: scatterElementsAddKernel,
  ScatterNDAdd: scatterNDAddKernel,
  Expand: expandKernel,
  Squeeze: squeezeKernel,
  Unsqueeze: unsqueezeKernel,
  Pad: padKernel,
  Range: rangeKernel,
  DimValue: dimValueKernel,
};
