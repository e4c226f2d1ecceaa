// The ONNX protobuf message classes (onnx-proto, a CommonJS package) and small builders over them:
// element types, tensor protos from typed arrays, attributes, value infos.

import onnxProto from "onnx-proto";
import type { Shape } from "../ir/dim.ts";
import type { AnyTypedArray, DType } from "../ir/dtype.ts";

export const { onnx } = onnxProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;
export type ModelProto = onnxProto.onnx.IModelProto;

export const IR_VERSION = 8;
export const DEFAULT_OPSET = 18;

const ELEM: Record<DType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float16: onnx.TensorProto.DataType.FLOAT16,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  bool: onnx.TensorProto.DataType.BOOL,
};

export const onnxElemType = (d: DType): number => ELEM[d];

/** The bytes of a typed array, as a view (no copy). */
export function bytesOf(data: AnyTypedArray): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export function tensorProto(name: string, dtype: DType, dims: readonly number[], data: AnyTypedArray): TensorProto {
  if (data instanceof Float64Array) throw new Error(`tensor '${name}': float64 data is not a ${dtype} array`);
  return { name, dataType: ELEM[dtype], dims: [...dims], rawData: bytesOf(data) };
}

export type AttrValue = number | string | number[] | { float: number };

/** Integers become INT/INTS, strings STRING, `{float}` FLOAT. */
export function attribute(name: string, v: AttrValue): AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === "number") return { name, type: T.INT, i: v };
  if (typeof v === "string") return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  return { name, type: T.FLOAT, f: v.float };
}

/**
 * A graph input/output declaration. Inputs name their symbolic dims (dim_param) so ONNX Runtime
 * knows which axes agree; outputs keep only static dims, since expressions like "B*T" have no
 * ONNX spelling and a made-up name would only conflict with ORT's own inference.
 */
export function valueInfo(name: string, dtype: DType, shape: Shape, symbolic: "param" | "unknown"): ValueInfoProto {
  const dim = shape.map((d) => (typeof d === "number" ? { dimValue: d } : symbolic === "param" ? { dimParam: d } : {}));
  return { name, type: { tensorType: { elemType: ELEM[dtype], shape: { dim } } } };
}
