// Lowers an IR graph (the part the requested outputs need) to a serialized ONNX ModelProto.
// The signature hashes the model's structure plus the identity of large initializers, so equal
// graphs over the same weight arrays share a session without re-hashing gigabytes of weights.

import { createHash } from "node:crypto";
import { type Dim, isBareSymbol } from "../ir/dim.ts";
import type { AnyTypedArray, DType } from "../ir/dtype.ts";
import { type Graph, type Node, type Tensor, ancestors } from "../ir/graph.ts";
import { OnnxBuilder } from "./builder.ts";
import { DimLowering, type SymbolSource } from "./dims.ts";
import { writeExternalModel } from "./external-data.ts";
import { DEFAULT_OPSET, IR_VERSION, type ModelProto, onnx, valueInfo } from "./proto.ts";
import { LOWERING, type LowerContext, type LowerRule } from "./rules.ts";

export interface LowerOptions {
  /** graph outputs to compute (default: all, in declaration order) */
  outputs?: string[];
  opset?: number;
  /** total initializer bytes above which weights go to an external data file (protobuf's 2 GB limit) */
  externalDataThreshold?: number;
  /** where external-data models are written (default: $TMPDIR/sprig-onnx; removed at process exit) */
  cacheDir?: string;
}

export interface IoSpec {
  name: string;
  dtype: DType;
  shape: Dim[];
}

export interface LoweredModel {
  /** serialized ModelProto (lazily encoded; for external-data models it references `modelPath`'s data) */
  readonly model: Uint8Array;
  /** file to load instead of `model` when initializers live in external data, else null */
  readonly modelPath: string | null;
  readonly inputNames: string[];
  readonly outputNames: string[];
  readonly signature: string;
  readonly inputs: IoSpec[];
  readonly outputs: IoSpec[];
  /** graph inputs the requested outputs do not need (feeds for them are accepted and ignored) */
  readonly unusedInputs: string[];
  /** every symbolic dim the lowered graph uses (tensor shapes, slice bounds, range lengths) */
  readonly dims: Dim[];
  readonly initializerBytes: number;
}

const EXTERNAL_THRESHOLD = 1.75 * 2 ** 30;
/** initializers larger than this are identified by array identity in the signature, not content */
const IDENTITY_BYTES = 64 * 1024;

export function lowerGraph(graph: Graph, opts: LowerOptions = {}): LoweredModel {
  const opset = opts.opset ?? DEFAULT_OPSET;
  // the rules use opset-18 forms (Reduce* axes as inputs, Scatter* reductions, Reshape allowzero)
  if (opset < 18) throw new Error(`lowerGraph: opset ${opset} is not supported (18 or later)`);
  const outNames = opts.outputs ?? [...graph.outputs.keys()];
  if (outNames.length === 0) throw new Error("lowerGraph: no outputs requested");
  const outTensors = outNames.map((n) => {
    const t = graph.outputs.get(n);
    if (!t) throw new Error(`lowerGraph: unknown output '${n}' (graph outputs: ${[...graph.outputs.keys()].join(", ")})`);
    return t;
  });
  const userNames = new Set<string>();
  for (const n of graph.nodes) if (n.op === "Input" || n.op === "Initializer") userNames.add((n as Node<"Input">).attrs.name);
  for (const n of outNames) {
    if (userNames.has(n)) throw new Error(`lowerGraph: output '${n}' has the name of a graph input or initializer`);
  }
  const needed = ancestors(outTensors);
  const b = new OnnxBuilder([...userNames, ...outNames]);

  // graph-output names go to the first tensor that claims them; the rest get Identity copies
  const wanted = new Map<number, string[]>();
  outTensors.forEach((t, i) => wanted.set(t.id, [...(wanted.get(t.id) ?? []), outNames[i]!]));
  const declared = new Map<number, Node<"Input">>();
  const symbols = symbolSources(graph, needed);
  const cx: LowerContext = {
    b,
    dims: new DimLowering(b, (s) => {
      const src = symbols.get(s);
      if (!src) return null;
      declared.set(src.node.id, src.node);
      return { input: src.node.attrs.name, axis: src.axis } satisfies SymbolSource;
    }),
    name: (t: Tensor) => wanted.get(t.id)?.shift() ?? b.fresh(`t${t.id}`),
    input: (n) => (declared.set(n.id, n), n.attrs.name),
  };

  const values = new Map<number, string>();
  const dims = new Set<string>();
  for (const node of needed) {
    const ins = node.inputs.map((t) => values.get(t.id)!);
    const names = (LOWERING[node.op] as LowerRule<typeof node.op>)(cx, node, ins);
    node.outputs.forEach((t, i) => values.set(t.id, names[i]!));
    collectDims(node, dims);
  }
  const outputs: IoSpec[] = outTensors.map((t, i) => ({ name: outNames[i]!, dtype: t.dtype, shape: [...t.shape] }));
  for (const [i, t] of outTensors.entries()) {
    const v = values.get(t.id)!;
    if (v !== outNames[i]) b.emit("Identity", [v], [outNames[i]!]);
  }
  const inputNodes = [...declared.values()].sort((p, q) => p.id - q.id);
  const inputs: IoSpec[] = inputNodes.map((n) => ({ name: n.attrs.name, dtype: n.attrs.dtype, shape: [...n.attrs.shape] }));

  const proto: ModelProto = {
    irVersion: IR_VERSION,
    producerName: "sprig",
    // contrib ops are version 1 of their domain
    opsetImport: [{ domain: "", version: opset }, ...[...b.domains].map((domain) => ({ domain, version: 1 }))],
    graph: {
      name: "sprig",
      node: b.nodes,
      initializer: b.initializers,
      input: inputs.map((s) => valueInfo(s.name, s.dtype, s.shape, "param")),
      output: outputs.map((s) => valueInfo(s.name, s.dtype, s.shape, "unknown")),
    },
  };
  const initializerBytes = [...b.initializerData.values()].reduce((a, d) => a + d.byteLength, 0);
  const signature = signatureOf(proto, b.initializerData);
  const external = initializerBytes > (opts.externalDataThreshold ?? EXTERNAL_THRESHOLD);
  let model: Uint8Array | null = null;
  let modelPath: string | null = null;
  const materialize = () => {
    if (model) return;
    if (external) ({ model, modelPath } = writeExternalModel(proto, b.initializerData, signature, opts.cacheDir));
    else model = onnx.ModelProto.encode(proto).finish();
  };
  return {
    get model() {
      materialize();
      return model!;
    },
    get modelPath() {
      materialize();
      return modelPath;
    },
    inputNames: inputs.map((s) => s.name),
    outputNames: [...outNames],
    signature,
    inputs,
    outputs,
    unusedInputs: graph
      .inputNodes()
      .filter((n) => !declared.has(n.id))
      .map((n) => n.attrs.name),
    dims: [...dims],
    initializerBytes,
  };
}

/** For each symbol, the input axis that declares it as a bare dim; inputs the outputs need come first. */
function symbolSources(graph: Graph, needed: readonly Node[]): Map<string, { node: Node<"Input">; axis: number }> {
  const out = new Map<string, { node: Node<"Input">; axis: number }>();
  const neededInputs = needed.filter((n): n is Node<"Input"> => n.op === "Input");
  for (const n of [...neededInputs, ...graph.inputNodes()]) {
    n.attrs.shape.forEach((d, axis) => {
      if (isBareSymbol(d) && !out.has(d)) out.set(d, { node: n, axis });
    });
  }
  return out;
}

function collectDims(node: Node, into: Set<string>): void {
  const add = (d: Dim | null) => {
    if (typeof d === "string") into.add(d);
  };
  for (const t of node.outputs) t.shape.forEach(add);
  if (node.op === "Slice") {
    const a = (node as Node<"Slice">).attrs;
    add(a.start);
    add(a.end);
  } else if (node.op === "Range") add((node as Node<"Range">).attrs.length);
  else if (node.op === "DimValue") add((node as Node<"DimValue">).attrs.dim);
}

const bufferIds = new WeakMap<ArrayBufferLike, number>();
let nextBufferId = 0;

function identityOf(data: AnyTypedArray): string {
  let id = bufferIds.get(data.buffer);
  if (id === undefined) bufferIds.set(data.buffer, (id = nextBufferId++));
  return `${id}:${data.byteOffset}:${data.byteLength}`;
}

function signatureOf(proto: ModelProto, data: ReadonlyMap<string, AnyTypedArray>): string {
  const h = createHash("sha256");
  const inits = proto.graph!.initializer!.map((t) => {
    const d = data.get(t.name!)!;
    if (d.byteLength <= IDENTITY_BYTES) return t;
    h.update(`${t.name}=${identityOf(d)};`);
    return { ...t, rawData: null };
  });
  h.update(onnx.ModelProto.encode({ ...proto, graph: { ...proto.graph, initializer: inits } }).finish());
  return h.digest("hex").slice(0, 32);
}
