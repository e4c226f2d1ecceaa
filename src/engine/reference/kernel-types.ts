// The kernel signature every reference kernel implements, and the context the interpreter hands it.

import type { Bindings } from "../ir/dim.ts";
import type { OpAttrMap, OpName } from "../ir/op-specs.ts";
import type { NDArray } from "./ndarray.ts";

export interface KernelContext {
  /** symbol bindings, for attrs that hold symbolic dims (Reshape, Expand, Pad, Range, Slice, …) */
  readonly env: Bindings;
  /** the fed value of graph input `name`, already checked against its declared dtype and shape */
  feed(name: string): NDArray;
}

/** One naive kernel: inputs and attrs in, the op's single output out (float64, with its dtype). */
export type Kernel<O extends OpName> = (inputs: readonly NDArray[], attrs: OpAttrMap[O], ctx: KernelContext) => NDArray;
