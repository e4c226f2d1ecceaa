// The graph IR: tensors are symbolic values, nodes apply one primitive op. Leaves (inputs, initializers,
// constants) are nodes too, so every consumer — reference interpreter, autodiff, ONNX lowering — walks one list.

import { type Dim, type Shape, dim, formatShape, isBareSymbol } from "./dim.ts";
import { type AnyTypedArray, type DType } from "./dtype.ts";
import { OP_SPECS, type OpAttrMap, type OpName } from "./op-specs.ts";

export class GraphError extends Error {
  override name = "GraphError";
}

export class Tensor {
  constructor(
    readonly graph: Graph,
    readonly id: number,
    readonly dtype: DType,
    readonly shape: Shape,
    readonly node: Node,
    readonly outputIndex: number,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  toString(): string {
    return `%${this.id}:${this.dtype}${formatShape(this.shape)}`;
  }
}

export interface Node<O extends OpName = OpName> {
  readonly id: number;
  readonly op: O;
  readonly inputs: readonly Tensor[];
  readonly attrs: OpAttrMap[O];
  readonly outputs: Tensor[];
}

export class Graph {
  readonly nodes: Node[] = [];
  readonly outputs = new Map<string, Tensor>();
  private nextTensor = 0;
  private names = new Set<string>();

  /** A runtime-fed tensor. Dims are numbers or bare symbols ("B", "T") that the feeds bind. */
  input(name: string, dtype: DType, shape: Shape): Tensor {
    for (const d of shape) {
      if (typeof d === "string" && !isBareSymbol(d)) {
        throw new GraphError(`input '${name}': dim '${d}' must be a number or a bare symbol`);
      }
    }
    this.claimName(name);
    return this.addNode("Input", [], { name, dtype, shape: shape.map(dim) })[0]!;
  }

  /** A frozen weight baked into the compiled model. Data is not copied. */
  initializer(name: string, dtype: DType, shape: readonly number[], data: AnyTypedArray): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    if (data.length !== n) {
      throw new GraphError(`initializer '${name}': ${data.length} values for shape ${formatShape(shape)} (${n})`);
    }
    this.claimName(name);
    return this.addNode("Initializer", [], { name, dtype, shape: [...shape], data })[0]!;
  }

  /** A small literal (scalars, masks, index lists). */
  constant(dtype: DType, shape: readonly number[], data: AnyTypedArray): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    if (data.length !== n) throw new GraphError(`constant: ${data.length} values for shape ${formatShape(shape)}`);
    return this.addNode("Constant", [], { dtype, shape: [...shape], data })[0]!;
  }

  scalar(value: number, dtype: DType = "float32"): Tensor {
    const data =
      dtype === "int64"
        ? BigInt64Array.of(BigInt(value))
        : dtype === "int32"
          ? Int32Array.of(value)
          : dtype === "bool"
            ? Uint8Array.of(value ? 1 : 0)
            : Float32Array.of(value);
    if (dtype === "float16") return this.addNode("Cast", [this.constant("float32", [], data)], { to: "float16" })[0]!;
    return this.constant(dtype, [], data);
  }

  output(name: string, t: Tensor): void {
    if (t.graph !== this) throw new GraphError(`output '${name}': tensor belongs to another graph`);
    if (this.outputs.has(name)) throw new GraphError(`output '${name}' declared twice`);
    this.outputs.set(name, t);
  }

  inputNodes(): Node<"Input">[] {
    return this.nodes.filter((n): n is Node<"Input"> => n.op === "Input");
  }

  initializerNodes(): Node<"Initializer">[] {
    return this.nodes.filter((n): n is Node<"Initializer"> => n.op === "Initializer");
  }

  /** Append a node; the op's spec checks the inputs and infers output dtypes and shapes. */
  addNode<O extends OpName>(op: O, inputs: readonly Tensor[], attrs: OpAttrMap[O]): Tensor[] {
    for (const t of inputs) {
      if (t.graph !== this) throw new GraphError(`${op}: input ${t} belongs to another graph`);
    }
    const spec = OP_SPECS[op];
    if (spec.arity !== "variadic" && spec.arity !== inputs.length) {
      throw new GraphError(`${op}: expects ${spec.arity} inputs, got ${inputs.length}`);
    }
    let outs: Array<{ dtype: DType; shape: Shape }>;
    try {
      outs = spec.infer(inputs, attrs as never);
    } catch (e) {
      const shapes = inputs.map((t) => `${t.dtype}${formatShape(t.shape)}`).join(", ");
      throw new GraphError(`${op}(${shapes}): ${(e as Error).message}`);
    }
    const node: Node<O> = { id: this.nodes.length, op, inputs: [...inputs], attrs, outputs: [] };
    node.outputs.push(...outs.map((o, i) => new Tensor(this, this.nextTensor++, o.dtype, o.shape.map(dim), node as Node, i)));
    this.nodes.push(node as Node);
    return node.outputs;
  }

  private claimName(name: string): void {
    if (this.names.has(name)) throw new GraphError(`name '${name}' used twice in one graph`);
    this.names.add(name);
  }
}

/** Nodes needed to compute `targets`, in topological (creation) order. */
export function ancestors(targets: readonly Tensor[]): Node[] {
  const seen = new Set<number>();
  const stack = targets.map((t) => t.node);
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n.id)) continue;
    seen.add(n.id);
    for (const i of n.inputs) stack.push(i.node);
  }
  const g = targets[0]?.graph;
  return g ? g.nodes.filter((n) => seen.has(n.id)) : [];
}

export type { Dim, Shape };
