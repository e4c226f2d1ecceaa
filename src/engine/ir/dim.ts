// Symbolic dimensions: a Dim is a number or a canonical polynomial over named sizes ("B*T", "P+T", "T-1").
// Keeping shapes symbolic lets one graph (and one ONNX session) serve every batch size and length;
// the polynomial form lets reshape/concat/slice state their output sizes exactly.

export type Dim = number | string;
export type Shape = readonly Dim[];

/** monomial key ("" for the constant term, else sorted symbols joined by "*") → coefficient */
type Poly = Map<string, number>;

const SYMBOL = /^[A-Za-z_][A-Za-z0-9_]*$/;

function polyOf(d: Dim): Poly {
  if (typeof d === "number") return new Map(d === 0 ? [] : [["", d]]);
  return parse(d);
}

function parse(s: string): Poly {
  const out: Poly = new Map();
  const src = s.replace(/\s+/g, "");
  if (src === "") throw new Error(`empty dimension expression`);
  // split into signed terms
  const terms = src.match(/[+-]?[^+-]+/g);
  if (!terms || terms.join("") !== src) throw new Error(`bad dimension expression '${s}'`);
  for (const t of terms) {
    let sign = 1;
    let body = t;
    if (body[0] === "+" || body[0] === "-") {
      sign = body[0] === "-" ? -1 : 1;
      body = body.slice(1);
    }
    let coef = sign;
    const syms: string[] = [];
    for (const f of body.split("*")) {
      if (/^\d+$/.test(f)) coef *= Number(f);
      else if (SYMBOL.test(f)) syms.push(f);
      else throw new Error(`bad factor '${f}' in dimension expression '${s}'`);
    }
    addTerm(out, syms.sort().join("*"), coef);
  }
  return out;
}

function addTerm(p: Poly, key: string, coef: number): void {
  const v = (p.get(key) ?? 0) + coef;
  if (v === 0) p.delete(key);
  else p.set(key, v);
}

function toDim(p: Poly): Dim {
  const keys = [...p.keys()].sort((a, b) => (a === "" ? 1 : b === "" ? -1 : a < b ? -1 : a > b ? 1 : 0));
  if (keys.length === 0) return 0;
  if (keys.length === 1 && keys[0] === "") return p.get("")!;
  let s = "";
  for (const k of keys) {
    const c = p.get(k)!;
    const mag = Math.abs(c);
    const body = k === "" ? String(mag) : mag === 1 ? k : `${mag}*${k}`;
    s += (c < 0 ? "-" : s === "" ? "" : "+") + body;
  }
  return s;
}

/** Canonical form of a dimension (so that "T+P" and "P+T" compare equal). */
export function dim(d: Dim): Dim {
  if (typeof d === "number") {
    if (!Number.isInteger(d)) throw new Error(`dimension must be an integer, got ${d}`);
    return d;
  }
  return toDim(parse(d));
}

export function dimAdd(a: Dim, b: Dim): Dim {
  const p = polyOf(a);
  for (const [k, v] of polyOf(b)) addTerm(p, k, v);
  return toDim(p);
}

export function dimSub(a: Dim, b: Dim): Dim {
  const p = polyOf(a);
  for (const [k, v] of polyOf(b)) addTerm(p, k, -v);
  return toDim(p);
}

export function dimMul(a: Dim, b: Dim): Dim {
  const pa = polyOf(a);
  const pb = polyOf(b);
  const out: Poly = new Map();
  for (const [ka, va] of pa) {
    for (const [kb, vb] of pb) {
      const syms = [...(ka ? ka.split("*") : []), ...(kb ? kb.split("*") : [])].sort();
      addTerm(out, syms.join("*"), va * vb);
    }
  }
  return toDim(out);
}

export function dimProduct(ds: readonly Dim[]): Dim {
  return ds.reduce<Dim>((acc, d) => dimMul(acc, d), 1);
}

export function dimEq(a: Dim, b: Dim): boolean {
  return dim(a) === dim(b);
}

/** The symbols a dimension mentions. */
export function dimSymbols(d: Dim): string[] {
  if (typeof d === "number") return [];
  const out = new Set<string>();
  for (const k of parse(d).keys()) for (const s of k.split("*")) if (s) out.add(s);
  return [...out];
}

/** A dimension that is a single bare symbol ("T"), as opposed to an expression or a number. */
export function isBareSymbol(d: Dim): d is string {
  return typeof d === "string" && SYMBOL.test(d);
}

export type Bindings = ReadonlyMap<string, number>;

/** Concrete value of a dimension under symbol bindings. */
export function evalDim(d: Dim, env: Bindings): number {
  if (typeof d === "number") return d;
  let total = 0;
  for (const [k, c] of parse(d)) {
    let v = c;
    if (k) {
      for (const s of k.split("*")) {
        const b = env.get(s);
        if (b === undefined) throw new Error(`dimension '${d}': symbol '${s}' is not bound`);
        v *= b;
      }
    }
    total += v;
  }
  return total;
}

/** Polynomial terms, for lowering a dimension to ONNX shape arithmetic: [coefficient, symbols][] */
export function dimTerms(d: Dim): Array<[number, string[]]> {
  return [...polyOf(d)].map(([k, c]) => [c, k ? k.split("*") : []]);
}

export function formatShape(s: Shape): string {
  return `[${s.join(", ")}]`;
}

/** Static element count, or null when symbolic. */
export function staticSize(s: Shape): number | null {
  let n = 1;
  for (const d of s) {
    if (typeof d !== "number") return null;
    n *= d;
  }
  return n;
}
