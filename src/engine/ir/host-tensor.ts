// Concrete tensors on the JS side: what graphs are fed and what they return.
// Data arrays are shared, not copied: a subarray view is a valid feed.

import { formatShape } from "./dim.ts";
import { type AnyTypedArray, type DType, allocTyped } from "./dtype.ts";

export interface HostTensor {
  dtype: DType;
  shape: number[];
  data: AnyTypedArray;
}

export function hostTensor(dtype: DType, shape: number[], data?: AnyTypedArray | number[]): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  let arr: AnyTypedArray;
  if (data === undefined) arr = allocTyped(dtype, n);
  else if (Array.isArray(data)) {
    arr = allocTyped(dtype, n);
    if (arr instanceof BigInt64Array) data.forEach((v, i) => ((arr as BigInt64Array)[i] = BigInt(v)));
    else (arr as Float32Array).set(data);
  } else arr = data;
  if (arr.length !== n) throw new Error(`hostTensor: ${arr.length} values for shape ${formatShape(shape)}`);
  return { dtype, shape, data: arr };
}

export const f32 = (shape: number[], data?: Float32Array | number[]): HostTensor => hostTensor("float32", shape, data);
export const i64 = (shape: number[], data?: BigInt64Array | number[]): HostTensor => hostTensor("int64", shape, data);
export const i32 = (shape: number[], data?: Int32Array | number[]): HostTensor => hostTensor("int32", shape, data);

/** Values as plain numbers (for tests and small outputs). */
export function toNumbers(t: HostTensor): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}
