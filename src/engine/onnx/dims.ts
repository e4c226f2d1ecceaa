// Symbolic dims as runtime int64 tensors: each symbol is read off a graph input that declares it
// as a bare dim (Shape with start/end), polynomials are built with Mul/Add, shape vectors with
// Concat. Everything is cached, so each symbol, monomial and expression is computed once.

import { type Dim, dim as canon, dimTerms } from "../ir/dim.ts";
import type { OnnxBuilder } from "./builder.ts";

/** Where a symbol can be read at runtime: an ONNX graph input and one of its axes. */
export interface SymbolSource {
  input: string;
  axis: number;
}

export class DimLowering {
  private readonly cache = new Map<string, string>();

  constructor(
    private readonly b: OnnxBuilder,
    /** the input declaring a symbol (declaring it in the model if needed), or null */
    private readonly locate: (symbol: string) => SymbolSource | null,
  ) {}

  /** d as an int64 tensor of shape [1]. */
  one(d: Dim): string {
    const c = canon(d);
    if (typeof c === "number") return this.b.i64([c]);
    const hit = this.cache.get(c);
    if (hit) return hit;
    let acc: string | null = null;
    let constant = 0;
    for (const [coef, syms] of dimTerms(c)) {
      if (syms.length === 0) {
        constant += coef;
        continue;
      }
      let term = this.monomial(syms);
      if (coef !== 1) term = this.b.emit("Mul", [term, this.b.i64([coef])])[0]!;
      acc = acc === null ? term : this.b.emit("Add", [acc, term])[0]!;
    }
    if (constant !== 0) acc = this.b.emit("Add", [acc!, this.b.i64([constant])])[0]!;
    this.cache.set(c, acc!);
    return acc!;
  }

  /** d as an int64 scalar (Range limits, DimValue). */
  scalar(d: Dim): string {
    const c = canon(d);
    if (typeof c === "number") return this.b.i64([c], []);
    const key = `scalar:${c}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const out = this.b.emit("Reshape", [this.one(c), this.b.i64([], [0])])[0]!;
    this.cache.set(key, out);
    return out;
  }

  /** A shape (or pads) vector, int64 [n]; fully static vectors are constants. */
  vector(ds: readonly Dim[]): string {
    const cs = ds.map(canon);
    if (cs.every((d) => typeof d === "number")) return this.b.i64(cs as number[]);
    const key = `vec:${cs.join(",")}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const parts: string[] = [];
    let run: number[] = [];
    const flush = () => {
      if (run.length) parts.push(this.b.i64(run));
      run = [];
    };
    for (const d of cs) {
      if (typeof d === "number") run.push(d);
      else {
        flush();
        parts.push(this.one(d));
      }
    }
    flush();
    const out = parts.length === 1 ? parts[0]! : this.b.emit("Concat", parts, 1, { axis: 0 })[0]!;
    this.cache.set(key, out);
    return out;
  }

  private symbol(s: string): string {
    const key = `sym:${s}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const src = this.locate(s);
    if (!src) {
      throw new Error(`symbol '${s}' is not a bare dim of any graph input, so its runtime value is unknown`);
    }
    const shape = this.b.emit("Shape", [src.input], 1, { start: src.axis, end: src.axis + 1 })[0]!;
    this.cache.set(key, shape);
    return shape;
  }

  private monomial(syms: string[]): string {
    const key = `mono:${syms.join("*")}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    let acc = this.symbol(syms[0]!);
    for (let i = 1; i < syms.length; i++) {
      const prefix = `mono:${syms.slice(0, i + 1).join("*")}`;
      const cached = this.cache.get(prefix);
      acc = cached ?? this.b.emit("Mul", [acc, this.symbol(syms[i]!)])[0]!;
      this.cache.set(prefix, acc);
    }
    return acc;
  }
}
