// Reference indexing kernels: Gather, GatherElements, ScatterElementsAdd, ScatterNDAdd (ONNX semantics;
// negative indices count from the end, out-of-range ones are errors as in ONNX Runtime).

import { isInt } from "../ir/dtype.ts";
import type { Kernel } from "./kernel-types.ts";
import { type NDArray, fail, intFixer, ndarray, normAxis, sizeOf, stridesOf, unravel, wrapIndex } from "./ndarray.ts";

function checkIndices(idx: NDArray): void {
  if (!isInt(idx.dtype)) fail(`indices must be int32/int64, got ${idx.dtype}`);
}

/** x: (pre…, d, post…), idx: (I…) → (pre…, I…, post…) */
export const gatherKernel: Kernel<"Gather"> = ([x, idx], { axis }) => {
  checkIndices(idx!);
  const ax = normAxis(axis, x!.shape.length);
  const d = x!.shape[ax]!;
  const outer = sizeOf(x!.shape.slice(0, ax));
  const inner = sizeOf(x!.shape.slice(ax + 1));
  const m = idx!.data.length;
  const out = new Float64Array(outer * m * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < m; i++) {
      const j = wrapIndex(idx!.data[i]!, d, "Gather");
      out.set(x!.data.subarray((o * d + j) * inner, (o * d + j + 1) * inner), (o * m + i) * inner);
    }
  }
  const shape = [...x!.shape.slice(0, ax), ...idx!.shape, ...x!.shape.slice(ax + 1)];
  return ndarray(x!.dtype, shape, out);
};

/**
 * The data offset for each position of `idx` (same rank as data): idx's coordinates, with the one on
 * `axis` replaced by the index value. Off-axis extents of idx may not exceed data's.
 */
function elementOffsets(x: NDArray, idx: NDArray, axis: number, what: string): Int32Array {
  checkIndices(idx);
  const r = x.shape.length;
  if (idx.shape.length !== r) fail(`indices rank ${idx.shape.length} differs from data rank ${r}`);
  const ax = normAxis(axis, r);
  idx.shape.forEach((d, i) => {
    if (i !== ax && d > x.shape[i]!) fail(`indices extent ${d} on axis ${i} exceeds data's ${x.shape[i]}`);
  });
  const st = stridesOf(x.shape);
  const offs = new Int32Array(idx.data.length);
  const c = new Array<number>(r);
  for (let k = 0; k < offs.length; k++) {
    unravel(k, idx.shape, c);
    c[ax] = wrapIndex(idx.data[k]!, x.shape[ax]!, what);
    let off = 0;
    for (let a = 0; a < r; a++) off += c[a]! * st[a]!;
    offs[k] = off;
  }
  return offs;
}

/** out[j] = x[j with axis coordinate idx[j]]; out has idx's shape. */
export const gatherElementsKernel: Kernel<"GatherElements"> = ([x, idx], { axis }) => {
  const offs = elementOffsets(x!, idx!, axis, "GatherElements");
  return ndarray(
    x!.dtype,
    idx!.shape,
    Float64Array.from(offs, (o) => x!.data[o]!),
  );
};

function sameDtype(x: NDArray, upd: NDArray): void {
  if (x.dtype !== upd.dtype) fail(`data and updates dtypes differ: ${x.dtype} vs ${upd.dtype}`);
}

/** out = x; out[j with axis coordinate idx[j]] += upd[j]; duplicates accumulate. */
export const scatterElementsAddKernel: Kernel<"ScatterElementsAdd"> = ([x, idx, upd], { axis }) => {
  sameDtype(x!, upd!);
  if (upd!.shape.length !== idx!.shape.length || upd!.shape.some((d, i) => d !== idx!.shape[i])) {
    fail(`updates shape [${upd!.shape.join(", ")}] differs from indices shape [${idx!.shape.join(", ")}]`);
  }
  const offs = elementOffsets(x!, idx!, axis, "ScatterElementsAdd");
  const out = Float64Array.from(x!.data);
  for (let k = 0; k < offs.length; k++) out[offs[k]!]! += upd!.data[k]!;
  const fix = intFixer(x!.dtype);
  return ndarray(x!.dtype, x!.shape, fix ? out.map(fix) : out);
};

/**
 * x: (D0…Dk-1, rest…), idx: (M…, k), upd: (M…, rest…): out = x; out[idx[m]] += upd[m] for each
 * index tuple m (a whole `rest` block per tuple); duplicates accumulate.
 */
export const scatterNDAddKernel: Kernel<"ScatterNDAdd"> = ([x, idx, upd]) => {
  checkIndices(idx!);
  sameDtype(x!, upd!);
  const ri = idx!.shape.length;
  if (ri < 1) fail(`indices must have rank ≥ 1`);
  const k = idx!.shape[ri - 1]!;
  if (k > x!.shape.length) fail(`index tuples of length ${k} exceed data rank ${x!.shape.length}`);
  const rest = x!.shape.slice(k);
  const want = [...idx!.shape.slice(0, -1), ...rest];
  if (want.length !== upd!.shape.length || want.some((d, i) => d !== upd!.shape[i])) {
    fail(`updates must have shape [${want.join(", ")}], got [${upd!.shape.join(", ")}]`);
  }
  const st = stridesOf(x!.shape);
  const block = sizeOf(rest);
  const tuples = sizeOf(idx!.shape.slice(0, -1));
  const out = Float64Array.from(x!.data);
  for (let m = 0; m < tuples; m++) {
    let off = 0;
    for (let t = 0; t < k; t++) off += wrapIndex(idx!.data[m * k + t]!, x!.shape[t]!, "ScatterNDAdd") * st[t]!;
    for (let i = 0; i < block; i++) out[off + i]! += upd!.data[m * block + i]!;
  }
  const fix = intFixer(x!.dtype);
  return ndarray(x!.dtype, x!.shape, fix ? out.map(fix) : out);
};
