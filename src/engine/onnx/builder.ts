// Accumulates the nodes and initializers of one ONNX graph: unique value names, node emission, and
// small int64/scalar constants deduplicated by content (shape vectors, axes, Range bounds).

import type { AnyTypedArray, DType } from "../ir/dtype.ts";
import { type AttrValue, type NodeProto, type TensorProto, attribute, bytesOf, onnx, tensorProto } from "./proto.ts";

/** Constants up to this many bytes are deduplicated by content. */
const DEDUPE_BYTES = 256;

export class OnnxBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  /** typed arrays behind initializers, kept for the signature (identity) and external data */
  readonly initializerData = new Map<string, AnyTypedArray>();
  private readonly used = new Set<string>();
  private readonly consts = new Map<string, string>();
  private counter = 0;
  /** operator-set domains besides the default one that emitted nodes use (e.g. "com.microsoft") */
  readonly domains = new Set<string>();

  constructor(reserved: Iterable<string>) {
    for (const n of reserved) this.used.add(n);
  }

  /** A value name no user name or earlier value has. */
  fresh(hint: string): string {
    let name: string;
    do name = `${hint}_${this.counter++}`;
    while (this.used.has(name));
    this.used.add(name);
    return name;
  }

  /** domain: the operator set of `op` when not the default ONNX one (contrib ops: "com.microsoft") */
  emit(
    op: string,
    inputs: readonly string[],
    outputs: readonly string[] | number = 1,
    attrs: Record<string, AttrValue> = {},
    domain?: string,
  ): string[] {
    const outs = typeof outputs === "number" ? Array.from({ length: outputs }, () => this.fresh(op.toLowerCase())) : [...outputs];
    const attribute_ = Object.entries(attrs).map(([k, v]) => attribute(k, v));
    const node: NodeProto = { opType: op, name: `${op}_${this.nodes.length}`, input: [...inputs], output: outs, attribute: attribute_ };
    if (domain) {
      node.domain = domain;
      this.domains.add(domain);
    }
    this.nodes.push(node);
    return outs;
  }

  /** A named initializer (a user weight); the name must be reserved already. */
  initializer(name: string, dtype: DType, dims: readonly number[], data: AnyTypedArray): string {
    this.initializers.push(tensorProto(name, dtype, dims, data));
    this.initializerData.set(name, data);
    return name;
  }

  /** An anonymous uint8 tensor (packed quantized codes; the IR has no uint8 dtype). */
  bytes(dims: readonly number[], data: Uint8Array, hint = "bytes"): string {
    const name = this.fresh(hint);
    this.initializers.push({ name, dataType: onnx.TensorProto.DataType.UINT8, dims: [...dims], rawData: data });
    this.initializerData.set(name, data);
    return name;
  }

  /** An anonymous constant tensor; small ones with equal content share one initializer. */
  constant(dtype: DType, dims: readonly number[], data: AnyTypedArray, hint = "const"): string {
    let key: string | null = null;
    if (data.byteLength <= DEDUPE_BYTES) {
      key = `${dtype}[${dims.join(",")}]:${Buffer.from(bytesOf(data)).toString("hex")}`;
      const hit = this.consts.get(key);
      if (hit) return hit;
    }
    const name = this.initializer(this.fresh(hint), dtype, dims, data);
    if (key) this.consts.set(key, name);
    return name;
  }

  /** int64 constant; a vector unless `dims` says otherwise (e.g. [] for a scalar). */
  i64(values: ReadonlyArray<number | bigint>, dims: readonly number[] = [values.length]): string {
    return this.constant(
      "int64",
      dims,
      BigInt64Array.from(values, (v) => BigInt(v)),
      "i64",
    );
  }
}
