// Feed validation before a run: every input present and known, dtypes, typed-array kinds, ranks and
// static sizes right, symbolic dims bound consistently; then output shapes from the bindings.

import { type Bindings, type Dim, dimTerms, formatShape } from "../ir/dim.ts";
import type { DType } from "../ir/dtype.ts";
import type { HostTensor } from "../ir/host-tensor.ts";
import type { IoSpec } from "../onnx/lower.ts";

export class FeedError extends Error {
  override name = "FeedError";
}

const ARRAY_OF: Record<DType, { new (n: number): unknown; name: string }> = {
  float32: Float32Array,
  float16: Uint16Array,
  int64: BigInt64Array,
  int32: Int32Array,
  bool: Uint8Array,
};

type CompiledDim = { text: string; terms: Array<[number, string[]]> };

const compileDim = (d: Dim): CompiledDim => ({ text: String(d), terms: dimTerms(d) });

function evalCompiled(d: CompiledDim, env: Bindings): number {
  let total = 0;
  for (const [c, syms] of d.terms) {
    let v = c;
    for (const s of syms) v *= env.get(s)!;
    total += v;
  }
  return total;
}

const describe = (s: IoSpec) => `${s.dtype}${formatShape(s.shape)}`;
const bindingsText = (env: Bindings) => [...env].map(([k, v]) => `${k}=${v}`).join(", ");

export class FeedValidator {
  private readonly inputs: ReadonlyMap<string, IoSpec>;
  private readonly outputs: ReadonlyArray<{ spec: IoSpec; shape: CompiledDim[] }>;
  private readonly dims: CompiledDim[];
  private readonly unused: ReadonlySet<string>;

  constructor(inputs: readonly IoSpec[], outputs: readonly IoSpec[], dims: readonly Dim[], unusedInputs: readonly string[] = []) {
    this.inputs = new Map(inputs.map((s) => [s.name, s]));
    this.unused = new Set(unusedInputs);
    this.outputs = outputs.map((spec) => ({ spec, shape: spec.shape.map(compileDim) }));
    this.dims = dims.map(compileDim);
  }

  /** The feeds the model takes: feeds for graph inputs the compiled outputs do not need are dropped. */
  used(feeds: Readonly<Record<string, HostTensor>>): Readonly<Record<string, HostTensor>> {
    if (!Object.keys(feeds).some((k) => this.unused.has(k))) return feeds;
    return Object.fromEntries(Object.entries(feeds).filter(([k]) => !this.unused.has(k)));
  }

  /** Checks the feeds and returns the symbol bindings they imply. */
  bind(feeds: Readonly<Record<string, HostTensor>>): Map<string, number> {
    for (const name of Object.keys(feeds)) {
      if (!this.inputs.has(name) && !this.unused.has(name)) {
        throw new FeedError(`feeds name no graph input: ${name} (inputs: ${[...this.inputs.keys()].join(", ") || "none"})`);
      }
    }
    const env = new Map<string, number>();
    const boundAt = new Map<string, string>();
    for (const spec of this.inputs.values()) {
      const t = feeds[spec.name];
      if (!t) throw new FeedError(`missing feed for input '${spec.name}' (${describe(spec)})`);
      const where = `input '${spec.name}'`;
      if (t.dtype !== spec.dtype) throw new FeedError(`${where}: declared ${spec.dtype}, fed ${t.dtype}`);
      const Arr = ARRAY_OF[spec.dtype];
      if (!(t.data instanceof Arr)) {
        throw new FeedError(`${where}: ${spec.dtype} data must be a ${Arr.name}, fed a ${t.data.constructor.name}`);
      }
      if (t.shape.length !== spec.shape.length) {
        throw new FeedError(`${where}: declared shape ${formatShape(spec.shape)} (rank ${spec.shape.length}), fed ${formatShape(t.shape)}`);
      }
      let n = 1;
      spec.shape.forEach((d, axis) => {
        const v = t.shape[axis]!;
        if (!Number.isInteger(v) || v < 0) throw new FeedError(`${where} axis ${axis}: size ${v} is not a non-negative integer`);
        n *= v;
        if (typeof d === "number") {
          if (v !== d) throw new FeedError(`${where} axis ${axis}: declared size ${d}, fed ${v}`);
          return;
        }
        const prev = env.get(d);
        if (prev === undefined) {
          env.set(d, v);
          boundAt.set(d, `${where} axis ${axis}`);
        } else if (prev !== v) {
          throw new FeedError(`${where} axis ${axis}: symbol '${d}' is ${v} here but ${prev} from ${boundAt.get(d)}`);
        }
      });
      if (t.data.length !== n) {
        throw new FeedError(`${where}: shape ${formatShape(t.shape)} has ${n} elements, data ${t.data.length}`);
      }
    }
    for (const d of this.dims) {
      if (d.terms.some(([, syms]) => syms.some((s) => !env.has(s)))) continue; // symbols no input binds were rejected at lowering
      const v = evalCompiled(d, env);
      if (v < 0) throw new FeedError(`dimension '${d.text}' evaluates to ${v} under ${bindingsText(env)}`);
    }
    return env;
  }

  /** Output shapes under the bindings (so callers can pre-allocate). */
  outputShapes(env: Bindings): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const o of this.outputs) out[o.spec.name] = o.shape.map((d) => evalCompiled(d, env));
    return out;
  }

  /** Checks caller-provided output buffers against the expected dtypes and shapes. */
  checkDestinations(into: Readonly<Record<string, HostTensor>>, env: Bindings): void {
    const shapes = this.outputShapes(env);
    for (const [name, t] of Object.entries(into)) {
      const spec = this.outputs.find((o) => o.spec.name === name)?.spec;
      if (!spec) throw new FeedError(`pre-allocated output '${name}' is not an output of this model`);
      const want = shapes[name]!;
      if (t.dtype !== spec.dtype) throw new FeedError(`pre-allocated output '${name}': dtype ${t.dtype}, expected ${spec.dtype}`);
      if (!(t.data instanceof ARRAY_OF[spec.dtype])) {
        throw new FeedError(
          `pre-allocated output '${name}': data is a ${t.data.constructor.name}, expected a ${ARRAY_OF[spec.dtype].name}`,
        );
      }
      const n = want.reduce((a, b) => a * b, 1);
      if (t.shape.length !== want.length || t.shape.some((v, i) => v !== want[i]) || t.data.length !== n) {
        throw new FeedError(
          `pre-allocated output '${name}': shape ${formatShape(t.shape)} (${t.data.length} values), expected ${formatShape(want)} (${formatShape(spec.shape)} under ${bindingsText(env)})`,
        );
      }
    }
  }
}
