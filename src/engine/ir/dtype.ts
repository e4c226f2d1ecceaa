// Element types the engine knows, and the JS typed arrays that carry them.
// float16 is a storage type (Uint16Array bits); computation happens in float32.

export type DType = "float32" | "float16" | "int64" | "int32" | "bool";

export type TypedArrayOf<D extends DType> = D extends "float32"
  ? Float32Array
  : D extends "float16"
    ? Uint16Array
    : D extends "int64"
      ? BigInt64Array
      : D extends "int32"
        ? Int32Array
        : Uint8Array;

export type AnyTypedArray = Float32Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array | Float64Array;

export const isFloat = (d: DType): boolean => d === "float32" || d === "float16";
export const isInt = (d: DType): boolean => d === "int64" || d === "int32";

export function bytesPerElement(d: DType): number {
  switch (d) {
    case "float32":
    case "int32":
      return 4;
    case "float16":
      return 2;
    case "int64":
      return 8;
    case "bool":
      return 1;
  }
}

/** Allocate a typed array of the JS type that carries `d`. */
export function allocTyped(d: DType, n: number): AnyTypedArray {
  switch (d) {
    case "float32":
      return new Float32Array(n);
    case "float16":
      return new Uint16Array(n);
    case "int64":
      return new BigInt64Array(n);
    case "int32":
      return new Int32Array(n);
    case "bool":
      return new Uint8Array(n);
  }
}
