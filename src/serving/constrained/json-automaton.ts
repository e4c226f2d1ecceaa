// A byte-level pushdown automaton for JSON documents matching a SchemaNode. A configuration is an
// immutable stack of frames, so stepping never copies and a token trie can be walked depth-first from a
// shared state. Nondeterminism (unions, enum values sharing a prefix) is a set of configurations.
// Bounds keep every document finite: whitespace runs, number digits and nesting depth.

import type { SchemaNode } from "./schema.ts";

type ObjNode = Extract<SchemaNode, { kind: "object" }>;
type ArrNode = Extract<SchemaNode, { kind: "array" }>;
type StrNode = Extract<SchemaNode, { kind: "string" }>;

/** most whitespace bytes in a row between tokens of a document (of which at most one newline, first) */
export const MAX_WS = 8;
/** most digits in the integer, fraction and exponent parts of a number */
export const MAX_DIGITS = 15;
/** deepest nesting of objects and arrays */
export const MAX_DEPTH = 24;

type NumPhase = "sign" | "zero" | "int" | "dot" | "frac" | "e" | "esign" | "exp";
/** utf-8 / escape state inside a string: pending continuation bytes, or where in an escape */
interface StrState {
  len: number;
  cont: number;
  /** 0 none, 1 after the backslash, 2–5 hex digits of \uXXXX read so far + 2 */
  esc: number;
}

export type Frame =
  | { t: "value"; node: SchemaNode; ws: number }
  | {
      t: "obj";
      node: ObjNode;
      seen: readonly string[];
      phase: "first" | "after" | "next" | "colon" | "value";
      cur: SchemaNode | null;
      ws: number;
    }
  | { t: "key"; node: ObjNode; seen: readonly string[]; raw: string; s: StrState }
  | { t: "arr"; node: ArrNode; count: number; phase: "first" | "after" | "item"; ws: number }
  | { t: "str"; node: StrNode; s: StrState }
  | { t: "num"; integer: boolean; phase: NumPhase; digits: number }
  | { t: "lit"; text: Uint8Array; pos: number }
  | { t: "done" };

export interface Stack {
  readonly f: Frame;
  readonly up: Stack | null;
  readonly depth: number;
}

const push = (f: Frame, up: Stack | null): Stack => ({ f, up, depth: (up?.depth ?? 0) + 1 });
const swap = (s: Stack, f: Frame): Stack => ({ f, up: s.up, depth: s.depth });

const isWs = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
const NL = 1 << 8;
/**
 * The whitespace run after byte `b` (bytes so far, | NL once a newline was seen), or -1: runs are short and
 * hold one newline at most, so a model cannot pad a document with blank lines or endless spaces.
 */
function wsNext(ws: number, b: number): number {
  const n = (ws & 0xff) + 1;
  if (n > MAX_WS || b === 0x0d) return -1;
  if (b === 0x0a) return ws & NL || ws & 0xff ? -1 : n | NL;
  return n | (ws & NL);
}
const isDigit = (b: number) => b >= 0x30 && b <= 0x39;
const isHex = (b: number) => isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);
const Q = 0x22;
const BS = 0x5c;
const TRUE = Uint8Array.from(Buffer.from("true"));
const FALSE = Uint8Array.from(Buffer.from("false"));
const NULL = Uint8Array.from(Buffer.from("null"));

/** The configuration before the first byte of a document of `node`. */
export function initial(node: SchemaNode): Stack {
  return push({ t: "value", node, ws: 0 }, push({ t: "done" }, null));
}

/** Every configuration reachable from `s` by byte `b` (none: the byte cannot continue the document). */
export function step(s: Stack, b: number): Stack[] {
  const f = s.f;
  switch (f.t) {
    case "done":
      return [];
    case "value":
      if (isWs(b)) return s.up!.f.t === "done" ? [] : wsStep(s, f, b);
      return start(f.node, b, s.up!);
    case "lit":
      if (f.text[f.pos] !== b) return [];
      return f.pos + 1 === f.text.length ? complete(s.up!) : [swap(s, { ...f, pos: f.pos + 1 })];
    case "str": {
      if (f.s.cont === 0 && f.s.esc === 0 && b === Q) return f.s.len >= f.node.minLength ? complete(s.up!) : [];
      const n = strByte(f.s, b, f.node.maxLength);
      return n ? [swap(s, { ...f, s: n })] : [];
    }
    case "key":
      return keyStep(s, f, b);
    case "num":
      return numStep(s, f, b);
    case "obj":
      return objStep(s, f, b);
    case "arr":
      return arrStep(s, f, b);
  }
}

function wsStep<F extends Frame & { ws: number }>(s: Stack, f: F, b: number): Stack[] {
  const ws = wsNext(f.ws, b);
  return ws < 0 ? [] : [swap(s, { ...f, ws } as Frame)];
}

/** The first byte of a value of `node`, whose parent is `up`. */
function start(node: SchemaNode, b: number, up: Stack): Stack[] {
  switch (node.kind) {
    case "union":
      return node.options.flatMap((o) => start(o, b, up));
    case "literal":
      return node.texts
        .filter((t) => t[0] === b)
        .flatMap((text) => (text.length === 1 ? complete(up) : [push({ t: "lit", text, pos: 1 }, up)]));
    case "object":
      return b === 0x7b && up.depth < MAX_DEPTH ? [push({ t: "obj", node, seen: [], phase: "first", cur: null, ws: 0 }, up)] : [];
    case "array":
      return b === 0x5b && up.depth < MAX_DEPTH ? [push({ t: "arr", node, count: 0, phase: "first", ws: 0 }, up)] : [];
    case "string":
      return b === Q ? [push({ t: "str", node, s: { len: 0, cont: 0, esc: 0 } }, up)] : [];
    case "number":
      if (b === 0x2d) return [push({ t: "num", integer: node.integer, phase: "sign", digits: 0 }, up)];
      if (b === 0x30) return [push({ t: "num", integer: node.integer, phase: "zero", digits: 1 }, up)];
      return isDigit(b) ? [push({ t: "num", integer: node.integer, phase: "int", digits: 1 }, up)] : [];
    case "boolean":
      return b === 0x74 ? [push({ t: "lit", text: TRUE, pos: 1 }, up)] : b === 0x66 ? [push({ t: "lit", text: FALSE, pos: 1 }, up)] : [];
    case "null":
      return b === 0x6e ? [push({ t: "lit", text: NULL, pos: 1 }, up)] : [];
  }
}

/** A value just ended; its parent `up` moves on. */
function complete(up: Stack): Stack[] {
  const f = up.f;
  if (f.t === "obj") return [swap(up, { ...f, phase: "after", cur: null, ws: 0 })];
  if (f.t === "arr") return [swap(up, { ...f, count: f.count + 1, phase: "after", ws: 0 })];
  if (f.t === "done") return [up];
  throw new Error(`json automaton: a value cannot end inside ${f.t}`);
}

/** One byte of string content (after the opening quote, not the closing one). */
function strByte(s: StrState, b: number, maxLength: number): StrState | null {
  if (s.esc === 1) {
    if (b === 0x75) return { ...s, esc: 2 };
    return [Q, BS, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74].includes(b) ? { ...s, esc: 0 } : null;
  }
  if (s.esc >= 2) return isHex(b) ? { ...s, esc: s.esc === 5 ? 0 : s.esc + 1 } : null;
  if (s.cont > 0) return b >= 0x80 && b <= 0xbf ? { ...s, cont: s.cont - 1 } : null;
  if (b < 0x20 || b === Q || s.len >= maxLength) return null;
  const len = s.len + 1;
  if (b === BS) return { len, cont: 0, esc: 1 };
  if (b < 0x80) return { len, cont: 0, esc: 0 };
  if (b >= 0xc2 && b <= 0xdf) return { len, cont: 1, esc: 0 };
  if (b >= 0xe0 && b <= 0xef) return { len, cont: 2, esc: 0 };
  if (b >= 0xf0 && b <= 0xf4) return { len, cont: 3, esc: 0 };
  return null;
}

/** Property names the object may still take, in the bytes they are written with. */
const namesLeft = (node: ObjNode, seen: readonly string[]) =>
  [...node.props.keys()].filter((k) => !seen.includes(k)).map((k) => JSON.stringify(k).slice(1, -1));
const latin1 = (s: string) => Buffer.from(s, "utf8").toString("latin1");

function keyStep(s: Stack, f: Extract<Frame, { t: "key" }>, b: number): Stack[] {
  const free = f.node.additional !== null;
  if (b === Q && f.s.cont === 0 && f.s.esc === 0) {
    const name = [...f.node.props.keys()].find((k) => latin1(JSON.stringify(k).slice(1, -1)) === f.raw && !f.seen.includes(k));
    if (name !== undefined)
      return [swap(s, { t: "obj", node: f.node, seen: [...f.seen, name], phase: "colon", cur: f.node.props.get(name)!, ws: 0 })];
    if (!free) return [];
    let key: string;
    try {
      key = JSON.parse(`"${Buffer.from(f.raw, "latin1").toString("utf8")}"`) as string;
    } catch {
      return [];
    }
    if (f.seen.includes(key) || f.node.props.has(key)) return [];
    return [swap(s, { t: "obj", node: f.node, seen: [...f.seen, key], phase: "colon", cur: f.node.additional, ws: 0 })];
  }
  const n = strByte(f.s, b, Infinity);
  if (!n) return [];
  const raw = f.raw + String.fromCharCode(b);
  if (!free && !namesLeft(f.node, f.seen).some((k) => latin1(k).startsWith(raw))) return [];
  return [swap(s, { ...f, raw, s: n })];
}

function numStep(s: Stack, f: Extract<Frame, { t: "num" }>, b: number): Stack[] {
  const to = (phase: NumPhase, digits: number) => [swap(s, { ...f, phase, digits })];
  const d = isDigit(b);
  const frac = !f.integer && b === 0x2e;
  const exp = !f.integer && (b === 0x65 || b === 0x45);
  switch (f.phase) {
    case "sign":
      return b === 0x30 ? to("zero", 1) : d ? to("int", 1) : [];
    case "zero":
      if (frac) return to("dot", 0);
      if (exp) return to("e", 0);
      break;
    case "int":
      if (d) return f.digits < MAX_DIGITS ? to("int", f.digits + 1) : [];
      if (frac) return to("dot", 0);
      if (exp) return to("e", 0);
      break;
    case "dot":
      return d ? to("frac", 1) : [];
    case "frac":
      if (d) return f.digits < MAX_DIGITS ? to("frac", f.digits + 1) : [];
      if (exp) return to("e", 0);
      break;
    case "e":
      return b === 0x2b || b === 0x2d ? to("esign", 0) : d ? to("exp", 1) : [];
    case "esign":
      return d ? to("exp", 1) : [];
    case "exp":
      if (d) return f.digits < 3 ? to("exp", f.digits + 1) : [];
      break;
  }
  // the number ended: the byte belongs to the parent
  return complete(s.up!).flatMap((p) => step(p, b));
}

const numAccepts = (p: NumPhase) => p === "zero" || p === "int" || p === "frac" || p === "exp";

function objStep(s: Stack, f: Extract<Frame, { t: "obj" }>, b: number): Stack[] {
  const ws = () => wsStep(s, f, b);
  const closes = () => f.node.required.every((r) => f.seen.includes(r));
  // the key frame stands in for the object until the key closes (it carries the object's node and seen keys)
  const key = () => [swap(s, { t: "key", node: f.node, seen: f.seen, raw: "", s: { len: 0, cont: 0, esc: 0 } })];
  const more = () => f.node.additional !== null || namesLeft(f.node, f.seen).length > 0;
  switch (f.phase) {
    case "first":
      if (isWs(b)) return ws();
      if (b === Q) return more() ? key() : [];
      return b === 0x7d && closes() ? complete(s.up!) : [];
    case "next":
      if (isWs(b)) return ws();
      return b === Q ? key() : [];
    case "colon":
      if (isWs(b)) return ws();
      return b === 0x3a ? [push({ t: "value", node: f.cur!, ws: 0 }, swap(s, { ...f, phase: "value", ws: 0 }))] : [];
    case "after":
      if (isWs(b)) return ws();
      if (b === 0x2c) return more() ? [swap(s, { ...f, phase: "next", ws: 0 })] : [];
      return b === 0x7d && closes() ? complete(s.up!) : [];
    case "value":
      throw new Error("json automaton: an object in phase value is never on top");
  }
}

function arrStep(s: Stack, f: Extract<Frame, { t: "arr" }>, b: number): Stack[] {
  const item = () => step(push({ t: "value", node: f.node.items, ws: 0 }, swap(s, { ...f, phase: "item", ws: 0 })), b);
  switch (f.phase) {
    case "first":
      if (b === 0x5d) return f.node.minItems === 0 ? complete(s.up!) : [];
      if (isWs(b)) return wsStep(s, f, b);
      return f.node.maxItems > 0 ? item() : [];
    case "after":
      if (isWs(b)) return wsStep(s, f, b);
      if (b === 0x2c)
        return f.count < f.node.maxItems ? [push({ t: "value", node: f.node.items, ws: 0 }, swap(s, { ...f, phase: "item", ws: 0 }))] : [];
      return b === 0x5d && f.count >= f.node.minItems ? complete(s.up!) : [];
    case "item":
      throw new Error("json automaton: an array in phase item is never on top");
  }
}

/** Whether the document may end here. */
export function canEnd(s: Stack): boolean {
  if (s.f.t === "done") return true;
  return s.f.t === "num" && numAccepts(s.f.phase) && s.up?.f.t === "done";
}

/** Whether nothing can follow (the document is complete and closed). */
export const finished = (s: Stack): boolean => s.f.t === "done";

const memo = new WeakMap<SchemaNode, number>();
/** Fewest bytes of a value of `node`. */
export function minLen(node: SchemaNode): number {
  const hit = memo.get(node);
  if (hit !== undefined) return hit;
  memo.set(node, 1); // cycles (recursive $ref) resolve to their shortest non-recursive option below
  let n: number;
  switch (node.kind) {
    case "object":
      n = 2 + requiredCost(node, []);
      break;
    case "array":
      n = 2 + itemsCost(node, node.minItems);
      break;
    case "string":
      n = 2 + node.minLength;
      break;
    case "number":
      n = 1;
      break;
    case "boolean":
      n = 4;
      break;
    case "null":
      n = 4;
      break;
    case "literal":
      n = Math.min(...node.texts.map((t) => t.length));
      break;
    case "union":
      n = node.options.length ? Math.min(...node.options.map(minLen)) : 1;
      break;
  }
  memo.set(node, n);
  return n;
}

/** bytes of the required members still missing, with the commas between them */
function requiredCost(node: ObjNode, seen: readonly string[]): number {
  const costs = memberCosts(node);
  let sum = 0;
  let missing = 0;
  for (let i = 0; i < node.required.length; i++) {
    if (seen.includes(node.required[i]!)) continue;
    sum += costs[i]!;
    missing++;
  }
  return sum + Math.max(0, missing - 1);
}

const memberMemo = new WeakMap<ObjNode, number[]>();
/** bytes of `"name":` plus the shortest value, per required member */
function memberCosts(node: ObjNode): number[] {
  let c = memberMemo.get(node);
  if (!c)
    memberMemo.set(
      node,
      (c = node.required.map((r) => Buffer.byteLength(JSON.stringify(r)) + 1 + minLen(node.props.get(r) ?? node.additional!))),
    );
  return c;
}

const itemsCost = (node: ArrNode, k: number) => (k > 0 ? k * minLen(node.items) + (k - 1) : 0);

/**
 * Fewest bytes that complete the document from `s` (a lower bound where a key is half typed). Lets a
 * matcher keep a document closable within the tokens left.
 */
export function minClose(s: Stack): number {
  let total = 0;
  for (let at: Stack | null = s; at; at = at.up) {
    const f = at.f;
    switch (f.t) {
      case "done":
        break;
      case "value":
        total += minLen(f.node);
        break;
      case "lit":
        total += f.text.length - f.pos;
        break;
      case "str":
        total += (f.s.esc === 1 ? 1 : f.s.esc >= 2 ? 6 - f.s.esc : 0) + f.s.cont + Math.max(0, f.node.minLength - f.s.len) + 1;
        break;
      case "num":
        total += numAccepts(f.phase) ? 0 : 1;
        break;
      case "key": {
        // finish the best key consistent with what is typed, its value, then close the object
        const pending = (f.s.esc === 1 ? 1 : f.s.esc >= 2 ? 6 - f.s.esc : 0) + f.s.cont;
        let best = Infinity;
        for (const [k, v] of f.node.props) {
          const name = latin1(JSON.stringify(k).slice(1, -1));
          if (f.seen.includes(k) || !name.startsWith(f.raw)) continue;
          best = Math.min(best, name.length - f.raw.length + 2 + minLen(v) + objRest(f.node, [...f.seen, k]));
        }
        if (f.node.additional) best = Math.min(best, pending + 2 + minLen(f.node.additional) + objRest(f.node, f.seen));
        total += best === Infinity ? 2 : best;
        break;
      }
      case "obj": {
        const req = requiredCost(f.node, f.seen);
        if (f.phase === "first") total += req + 1;
        else if (f.phase === "next") total += (f.node.required.some((r) => !f.seen.includes(r)) ? req : oneMore(f.node, f.seen)) + 1;
        else if (f.phase === "colon") total += 1 + minLen(f.cur!) + objRest(f.node, f.seen);
        else total += objRest(f.node, f.seen);
        break;
      }
      case "arr": {
        const done = f.phase === "item" ? f.count + 1 : f.count;
        const left = Math.max(0, f.node.minItems - done);
        total += (f.phase === "first" ? itemsCost(f.node, left) : left * (1 + minLen(f.node.items))) + 1;
        break;
      }
    }
  }
  return total;
}

/** after a member: the missing required members (each after a comma) and the closing brace */
function objRest(node: ObjNode, seen: readonly string[]): number {
  return (node.required.some((r) => !seen.includes(r)) ? 1 + requiredCost(node, seen) : 0) + 1;
}

/** the shortest member that may follow a comma when no required one is missing */
function oneMore(node: ObjNode, seen: readonly string[]): number {
  let best = node.additional ? 3 + minLen(node.additional) : Infinity;
  for (const [k, v] of node.props) if (!seen.includes(k)) best = Math.min(best, Buffer.byteLength(JSON.stringify(k)) + 1 + minLen(v));
  return best === Infinity ? 0 : best;
}

const ids = new WeakMap<object, number>();
let nextId = 1;
const idOf = (o: object): number => {
  let id = ids.get(o);
  if (id === undefined) ids.set(o, (id = nextId++));
  return id;
};
const clamp = (x: number, hi: number) => (x < 0 ? 0 : x > hi ? hi : x);

/**
 * A key that is equal for two configurations exactly when every token of at most `reach` bytes is allowed
 * in both or neither and changes `minClose` by the same amount: counts (string length, items, depth) are
 * kept only as far as a token can move them.
 */
export function signature(s: Stack, reach: number): string {
  const r = reach + 1;
  let out = `d${clamp(MAX_DEPTH - s.depth, r)}`;
  for (let at: Stack | null = s; at; at = at.up) {
    const f = at.f;
    switch (f.t) {
      case "done":
        out += "|D";
        break;
      case "value":
        out += `|v${idOf(f.node)},${f.ws}`;
        break;
      case "lit":
        out += `|l${idOf(f.text)},${f.pos}`;
        break;
      case "str":
        out += `|s${idOf(f.node)},${f.s.cont},${f.s.esc},${clamp(f.node.minLength - f.s.len, r)},${clamp(f.node.maxLength - f.s.len, r)}`;
        break;
      case "num":
        out += `|n${f.integer ? 1 : 0}${f.phase},${f.digits}`;
        break;
      case "key":
        // the typed key matters only while it may still become a known or already used name
        out += `|k${idOf(f.node)},${f.s.cont},${f.s.esc},${mayName(f) ? JSON.stringify(f.raw) : "*"},${f.seen.join("\u0000")}`;
        break;
      case "obj":
        out += `|o${idOf(f.node)},${f.phase},${f.ws},${f.cur ? idOf(f.cur) : 0},${f.seen.join("\u0000")}`;
        break;
      case "arr":
        out += `|a${idOf(f.node)},${f.phase},${f.ws},${clamp(f.node.minItems - f.count, r)},${clamp(f.node.maxItems - f.count, r)}`;
        break;
    }
  }
  return out;
}

function mayName(f: Extract<Frame, { t: "key" }>): boolean {
  const starts = (k: string) => latin1(JSON.stringify(k).slice(1, -1)).startsWith(f.raw);
  for (const k of f.node.props.keys()) if (starts(k)) return true;
  return f.seen.some(starts);
}
