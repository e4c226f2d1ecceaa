// The reference interpreter: evaluates a Graph node by node with the naive float64 kernels. It binds
// symbolic dims from the feeds and asserts every node's concrete shape against the IR's inferred one,
// so it checks the shape inference as well as serving as the numeric oracle.

import { type Bindings, evalDim, formatShape, isBareSymbol } from "../ir/dim.ts";
import { type DType, isFloat } from "../ir/dtype.ts";
import { type Graph, type Node, type Tensor, ancestors } from "../ir/graph.ts";
import type { HostTensor } from "../ir/host-tensor.ts";
import { fromHost, toHost } from "./host.ts";
import type { KernelContext } from "./kernel-types.ts";
import { KERNELS } from "./kernels.ts";
import { f16round } from "./float16.ts";
import { type NDArray, InterpreterError, fail, formatArray, ndarray } from "./ndarray.ts";

/** A fed value: a HostTensor, or an NDArray (float64 data under any dtype). */
export type Feed = HostTensor | NDArray;
export type Feeds = Readonly<Record<string, Feed>>;

export interface EvaluateOptions {
  /** extra symbol values, for symbols no input shape binds (the feeds must agree with them) */
  bindings?: Readonly<Record<string, number>>;
}

const dtypeFits = (declared: DType, fed: DType): boolean => declared === fed || (isFloat(declared) && isFloat(fed));

/**
 * Symbol values implied by the feeds. Each fed input must match its declared rank and numeric dims;
 * a bare symbol binds on first sight and must have the same value everywhere else.
 */
export function bindSymbols(graph: Graph, feeds: Feeds, options: EvaluateOptions = {}): Map<string, number> {
  const env = new Map<string, number>();
  const source = new Map<string, string>();
  for (const [s, v] of Object.entries(options.bindings ?? {})) {
    if (!Number.isInteger(v) || v < 0) fail(`binding ${s}=${v} is not a size`);
    env.set(s, v);
    source.set(s, "options.bindings");
  }
  for (const node of graph.inputNodes()) {
    const { name, dtype, shape } = node.attrs;
    const f = feeds[name];
    if (f === undefined) continue;
    if (!dtypeFits(dtype, f.dtype)) fail(`input '${name}': declared ${dtype}, fed ${f.dtype}`);
    if (f.shape.length !== shape.length) {
      fail(`input '${name}': declared shape ${formatShape(shape)} (rank ${shape.length}), fed [${f.shape.join(", ")}]`);
    }
    shape.forEach((d, axis) => {
      const v = f.shape[axis]!;
      if (typeof d === "number") {
        if (v !== d) fail(`input '${name}' axis ${axis}: declared size ${d}, fed ${v}`);
        return;
      }
      if (!isBareSymbol(d)) fail(`input '${name}' axis ${axis}: dim '${d}' is not a bare symbol`);
      const prev = env.get(d);
      if (prev === undefined) {
        env.set(d, v);
        source.set(d, `input '${name}' axis ${axis}`);
      } else if (prev !== v) {
        fail(`input '${name}' axis ${axis}: symbol '${d}' is ${v} here but ${prev} from ${source.get(d)}`);
      }
    });
  }
  return env;
}

const formatEnv = (env: Bindings): string => `{${[...env].map(([k, v]) => `${k}=${v}`).join(", ")}}`;

function describe(node: Node): string {
  return `node #${node.id} ${node.op}(${node.inputs.map((t) => `${t.dtype}${formatShape(t.shape)}`).join(", ")})`;
}

/** Evaluate `targets` (and only the nodes they need); values in the targets' order. */
function run(graph: Graph, feeds: Feeds, targets: readonly Tensor[], options: EvaluateOptions): NDArray[] {
  for (const t of targets) if (t.graph !== graph) fail(`requested tensor ${t} belongs to another graph`);
  const inputNames = new Set(graph.inputNodes().map((n) => n.attrs.name));
  const unknown = Object.keys(feeds).filter((k) => !inputNames.has(k));
  if (unknown.length) fail(`feeds name no graph input: ${unknown.join(", ")} (inputs: ${[...inputNames].join(", ")})`);
  const needed = ancestors(targets);
  const missing = needed.filter((n): n is Node<"Input"> => n.op === "Input" && feeds[(n as Node<"Input">).attrs.name] === undefined);
  if (missing.length) fail(`missing feeds: ${missing.map((n) => n.attrs.name).join(", ")}`);
  const env = bindSymbols(graph, feeds, options);

  const declared = new Map(graph.inputNodes().map((n) => [n.attrs.name, n.attrs.dtype]));
  const ctx: KernelContext = {
    env,
    feed: (name) => {
      const f = feeds[name]!;
      const v = fromHost({ dtype: f.dtype, shape: [...f.shape], data: f.data }, `input '${name}'`);
      const d = declared.get(name)!;
      // wider float data fed to a float16 input holds only what float16 can
      return d === v.dtype ? v : ndarray(d, v.shape, d === "float16" ? v.data.map(f16round) : v.data);
    },
  };
  // release intermediates after their last use
  const uses = new Map<number, number>();
  for (const n of needed) for (const t of n.inputs) uses.set(t.id, (uses.get(t.id) ?? 0) + 1);
  for (const t of targets) uses.set(t.id, Infinity);
  const values = new Map<number, NDArray>();

  for (const node of needed) {
    const [t, ...extra] = node.outputs;
    if (!t || extra.length) fail(`${describe(node)}: the reference handles single-output ops only`);
    let want: number[];
    try {
      want = t.shape.map((d) => evalDim(d, env));
    } catch (e) {
      throw new InterpreterError(`${describe(node)}: inferred shape ${formatShape(t.shape)}: ${(e as Error).message}`);
    }
    if (want.some((d) => d < 0)) {
      fail(
        `${describe(node)}: inferred shape ${formatShape(t.shape)} is [${want.join(", ")}] under ${formatEnv(env)}; the feeds make it impossible`,
      );
    }
    const ins = node.inputs.map((i) => values.get(i.id)!);
    const kernel = KERNELS[node.op] as (i: readonly NDArray[], a: unknown, c: KernelContext) => NDArray;
    let out: NDArray;
    try {
      out = kernel(ins, node.attrs, ctx);
    } catch (e) {
      const ctxt = ins.length ? ` on ${ins.map(formatArray).join(", ")}` : "";
      throw new InterpreterError(`${describe(node)}${ctxt} under ${formatEnv(env)}: ${(e as Error).message}`);
    }
    if (out.dtype !== t.dtype || out.shape.length !== want.length || out.shape.some((d, i) => d !== want[i])) {
      fail(
        `${describe(node)}: kernel produced ${formatArray(out)} but the IR infers ${t.dtype}${formatShape(t.shape)}` +
          ` = [${want.join(", ")}] under ${formatEnv(env)} (engine bug)`,
      );
    }
    values.set(t.id, out);
    for (const i of node.inputs) {
      const left = uses.get(i.id)! - 1;
      uses.set(i.id, left);
      if (left === 0) values.delete(i.id);
    }
  }
  return targets.map((t) => values.get(t.id)!);
}

/**
 * Evaluate a graph in float64. `outputs` names graph outputs (default: all of them; result keyed by
 * name) or lists any tensors of the graph, intermediates included (result in the same order).
 */
export function evaluate(graph: Graph, feeds: Feeds, outputs?: readonly string[], options?: EvaluateOptions): Record<string, NDArray>;
export function evaluate(graph: Graph, feeds: Feeds, outputs: readonly Tensor[], options?: EvaluateOptions): NDArray[];
export function evaluate(
  graph: Graph,
  feeds: Feeds,
  outputs?: readonly string[] | readonly Tensor[],
  options: EvaluateOptions = {},
): Record<string, NDArray> | NDArray[] {
  if (outputs && outputs.length && typeof outputs[0] !== "string") {
    return run(graph, feeds, outputs as readonly Tensor[], options);
  }
  const names = (outputs as readonly string[] | undefined) ?? [...graph.outputs.keys()];
  const targets = names.map(
    (n) => graph.outputs.get(n) ?? fail(`no graph output '${n}' (outputs: ${[...graph.outputs.keys()].join(", ")})`),
  );
  const vals = run(graph, feeds, targets, options);
  return Object.fromEntries(names.map((n, i) => [n, vals[i]!]));
}

/** `evaluate` with each result converted to a HostTensor in its declared dtype's storage type. */
export function evaluateHost(
  graph: Graph,
  feeds: Feeds,
  outputs?: readonly string[],
  options?: EvaluateOptions,
): Record<string, HostTensor> {
  const vals = evaluate(graph, feeds, outputs, options);
  return Object.fromEntries(Object.entries(vals).map(([k, v]) => [k, toHost(v)]));
}
