// Reference kernels that move data without arithmetic: Reshape, Transpose, Slice, Concat, Expand,
// Squeeze, Unsqueeze, Pad, plus the generators Range and DimValue. Symbolic attrs are evaluated
// under the interpreter's bindings.

import { type Bindings, type Dim, evalDim } from "../ir/dim.ts";
import type { Kernel } from "./kernel-types.ts";
import { broadcastOffsets, broadcastShape, fail, ndarray, normAxis, sizeOf, stridesOf, unravel } from "./ndarray.ts";

/** A symbolic size evaluated; negative results mean the feeds make the graph's shapes impossible. */
function size(d: Dim, env: Bindings, what: string): number {
  const v = evalDim(d, env);
  if (v < 0) fail(`${what} '${d}' evaluates to ${v}`);
  return v;
}

export const reshapeKernel: Kernel<"Reshape"> = ([x], { shape }, { env }) => {
  const to = shape.map((d) => size(d, env, "target dim"));
  if (sizeOf(to) !== x!.data.length) fail(`cannot reshape [${x!.shape.join(", ")}] to [${to.join(", ")}]`);
  return ndarray(x!.dtype, to, x!.data);
};

export const transposeKernel: Kernel<"Transpose"> = ([x], { perm }) => {
  const r = x!.shape.length;
  if (perm.length !== r || [...perm].sort((p, q) => p - q).some((p, i) => p !== i)) {
    fail(`perm ${JSON.stringify(perm)} is not a permutation of rank ${r}`);
  }
  const shape = perm.map((p) => x!.shape[p]!);
  const inStrides = stridesOf(x!.shape);
  const st = perm.map((p) => inStrides[p]!); // input stride of each output axis
  const out = new Float64Array(x!.data.length);
  const idx = new Array<number>(r);
  for (let k = 0; k < out.length; k++) {
    unravel(k, shape, idx);
    let off = 0;
    for (let a = 0; a < r; a++) off += idx[a]! * st[a]!;
    out[k] = x!.data[off]!;
  }
  return ndarray(x!.dtype, shape, out);
};

/** Copy along `axis`: out[o, j, i] = x[o, src(j), i] where src(j) < 0 means zero (for Pad). */
function remapAxis(x: { shape: readonly number[]; data: Float64Array }, axis: number, n: number, src: (j: number) => number) {
  const inner = sizeOf(x.shape.slice(axis + 1));
  const outer = sizeOf(x.shape.slice(0, axis));
  const d = x.shape[axis]!;
  const out = new Float64Array(outer * n * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < n; j++) {
      const s = src(j);
      if (s < 0) continue;
      out.set(x.data.subarray((o * d + s) * inner, (o * d + s + 1) * inner), (o * n + j) * inner);
    }
  }
  const shape = [...x.shape];
  shape[axis] = n;
  return { shape, data: out };
}

/**
 * Numeric bounds behave as ONNX Slice's (negative counts from the end, then clamped to [0, d]);
 * symbolic ones are absolute positions that must evaluate into [0, d], as op-specs assumes.
 */
function sliceBound(b: Dim, d: number, env: Bindings): number {
  if (typeof b === "number") return Math.min(Math.max(b < 0 ? b + d : b, 0), d);
  const v = evalDim(b, env);
  if (v < 0 || v > d) fail(`slice bound '${b}' evaluates to ${v}, outside [0, ${d}]`);
  return v;
}

export const sliceKernel: Kernel<"Slice"> = ([x], { axis, start, end }, { env }) => {
  const ax = normAxis(axis, x!.shape.length);
  const d = x!.shape[ax]!;
  const b = sliceBound(start, d, env);
  const e = end === null ? d : sliceBound(end, d, env);
  const symbolic = typeof start !== "number" || (end !== null && typeof end !== "number");
  if (symbolic && e < b) fail(`slice [${start}:${end}] evaluates to [${b}:${e}], a negative size`);
  const r = remapAxis(x!, ax, Math.max(e - b, 0), (j) => b + j);
  return ndarray(x!.dtype, r.shape, r.data);
};

export const concatKernel: Kernel<"Concat"> = (xs, { axis }) => {
  if (xs.length === 0) fail(`needs at least one input`);
  const first = xs[0]!;
  const r = first.shape.length;
  const ax = normAxis(axis, r);
  for (const x of xs) {
    if (x.dtype !== first.dtype) fail(`dtype mismatch: ${x.dtype} vs ${first.dtype}`);
    if (x.shape.length !== r || x.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      fail(`shapes [${first.shape.join(", ")}] and [${x.shape.join(", ")}] differ off axis ${ax}`);
    }
  }
  const outer = sizeOf(first.shape.slice(0, ax));
  const chunks = xs.map((x) => sizeOf(x.shape.slice(ax))); // elements per outer index
  const total = chunks.reduce((s, c) => s + c, 0);
  const out = new Float64Array(outer * total);
  for (let o = 0; o < outer; o++) {
    let pos = o * total;
    xs.forEach((x, t) => {
      out.set(x.data.subarray(o * chunks[t]!, (o + 1) * chunks[t]!), pos);
      pos += chunks[t]!;
    });
  }
  const shape = [...first.shape];
  shape[ax] = xs.reduce((s, x) => s + x.shape[ax]!, 0);
  return ndarray(first.dtype, shape, out);
};

/** numpy broadcast_to: x's rank may grow and its size-1 axes repeat; the result is exactly `shape`. */
export const expandKernel: Kernel<"Expand"> = ([x], { shape }, { env }) => {
  const to = shape.map((d) => size(d, env, "target dim"));
  const b = broadcastShape(x!.shape, to);
  if (b.length !== to.length || b.some((d, i) => d !== to[i])) {
    fail(`cannot expand [${x!.shape.join(", ")}] to [${to.join(", ")}]`);
  }
  const offs = broadcastOffsets(x!.shape, to);
  return ndarray(
    x!.dtype,
    to,
    Float64Array.from(offs, (o) => x!.data[o]!),
  );
};

export const squeezeKernel: Kernel<"Squeeze"> = ([x], { axes }) => {
  const ax = new Set(axes.map((a) => normAxis(a, x!.shape.length)));
  for (const a of ax) if (x!.shape[a] !== 1) fail(`axis ${a} has size ${x!.shape[a]}, not 1`);
  return ndarray(
    x!.dtype,
    x!.shape.filter((_, i) => !ax.has(i)),
    x!.data,
  );
};

export const unsqueezeKernel: Kernel<"Unsqueeze"> = ([x], { axes }) => {
  const r = x!.shape.length + axes.length;
  const ax = new Set(axes.map((a) => normAxis(a, r)));
  if (ax.size !== axes.length) fail(`repeated axes [${axes.join(", ")}]`);
  const shape: number[] = [];
  let j = 0;
  for (let i = 0; i < r; i++) shape.push(ax.has(i) ? 1 : x!.shape[j++]!);
  return ndarray(x!.dtype, shape, x!.data);
};

/** Zero padding, one axis at a time; negative pads crop, as in ONNX Pad. */
export const padKernel: Kernel<"Pad"> = ([x], { pads }, { env }) => {
  const r = x!.shape.length;
  if (pads.length !== 2 * r) fail(`pads must have ${2 * r} entries, got ${pads.length}`);
  const p = pads.map((d) => evalDim(d, env));
  let cur: { shape: readonly number[]; data: Float64Array } = x!;
  for (let a = 0; a < r; a++) {
    const [begin, end] = [p[a]!, p[a + r]!];
    if (begin === 0 && end === 0) continue;
    const d = cur.shape[a]!;
    const n = d + begin + end;
    if (n < 0) fail(`axis ${a}: padding ${d} by (${pads[a]}, ${pads[a + r]}) = (${begin}, ${end}) gives size ${n}`);
    cur = remapAxis(cur, a, n, (j) => (j - begin >= 0 && j - begin < d ? j - begin : -1));
  }
  return ndarray(x!.dtype, cur.shape, cur.data);
};

export const rangeKernel: Kernel<"Range"> = (_, { length, dtype }, { env }) => {
  const n = size(length, env, "range length");
  return ndarray(
    dtype,
    [n],
    Float64Array.from({ length: n }, (_v, i) => i),
  );
};

export const dimValueKernel: Kernel<"DimValue"> = (_, { dim }, { env }) => ndarray("int64", [], [evalDim(dim, env)]);
