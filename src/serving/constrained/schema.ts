// JSON Schema → the node tree the JSON automaton walks. Only keywords the automaton can enforce token by
// token are accepted; any other keyword that constrains values is refused with its location, so a schema
// is never silently enforced less than it says. Annotations (title, description, …) are ignored.

export type SchemaNode =
  | { kind: "object"; props: Map<string, SchemaNode>; required: string[]; additional: SchemaNode | null }
  | { kind: "array"; items: SchemaNode; minItems: number; maxItems: number }
  | { kind: "string"; minLength: number; maxLength: number }
  | { kind: "number"; integer: boolean }
  | { kind: "boolean" }
  | { kind: "null" }
  /** enum / const: the values' compact JSON texts, as bytes */
  | { kind: "literal"; texts: Uint8Array[] }
  | { kind: "union"; options: SchemaNode[] };

export class SchemaError extends Error {
  override name = "SchemaError";
}

const ANNOTATIONS = new Set([
  "title",
  "description",
  "default",
  "examples",
  "$schema",
  "$id",
  "$comment",
  "$defs",
  "definitions",
  "deprecated",
  "readOnly",
  "writeOnly",
]);
const SUPPORTED = new Set([
  ...ANNOTATIONS,
  "type",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "minItems",
  "maxItems",
  "minLength",
  "maxLength",
  "enum",
  "const",
  "anyOf",
  "$ref",
]);
const TYPES = ["object", "array", "string", "number", "integer", "boolean", "null"] as const;
type TypeName = (typeof TYPES)[number];

const utf8 = (s: string) => new Uint8Array(Buffer.from(s, "utf8"));

/** Any JSON value (objects and arrays of any values); depth is bounded by the automaton. */
export const ANY: SchemaNode = (() => {
  const obj = { kind: "object" as const, props: new Map<string, SchemaNode>(), required: [], additional: null as SchemaNode | null };
  const arr = { kind: "array" as const, items: null as unknown as SchemaNode, minItems: 0, maxItems: Infinity };
  const any: SchemaNode = {
    kind: "union",
    options: [
      obj,
      arr,
      { kind: "string", minLength: 0, maxLength: Infinity },
      { kind: "number", integer: false },
      { kind: "boolean" },
      { kind: "null" },
    ],
  };
  obj.additional = any;
  arr.items = any;
  return any;
})();

/** `response_format: json_object`: any JSON object. */
export const ANY_OBJECT: SchemaNode = { kind: "object", props: new Map(), required: [], additional: ANY };

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Compile a JSON Schema (draft 2020-12 / 7 subset); throws SchemaError naming the unsupported keyword and where. */
export function compileSchema(root: unknown): SchemaNode {
  const refs = new Map<string, SchemaNode>();
  const compile = (s: unknown, at: string): SchemaNode => {
    if (s === true) return ANY;
    if (s === false) throw new SchemaError(`${at || "/"}: the schema \`false\` matches nothing`);
    if (!isObj(s)) throw new SchemaError(`${at || "/"}: a schema must be an object or a boolean`);
    for (const k of Object.keys(s)) {
      if (!SUPPORTED.has(k))
        throw new SchemaError(
          `${at || "/"}: keyword "${k}" is not supported by constrained decoding (supported: ${[...SUPPORTED].filter((x) => !ANNOTATIONS.has(x)).join(", ")})`,
        );
    }
    if (typeof s.$ref === "string") return ref(s.$ref, at);
    if ("const" in s) return { kind: "literal", texts: [utf8(JSON.stringify(s.const))] };
    if (Array.isArray(s.enum)) {
      if (!s.enum.length) throw new SchemaError(`${at}/enum: must list at least one value`);
      return { kind: "literal", texts: s.enum.map((v) => utf8(JSON.stringify(v))) };
    }
    if (Array.isArray(s.anyOf)) {
      if (!s.anyOf.length) throw new SchemaError(`${at}/anyOf: must list at least one schema`);
      return { kind: "union", options: s.anyOf.map((x, i) => compile(x, `${at}/anyOf/${i}`)) };
    }
    let types: TypeName[];
    if (s.type === undefined) types = "properties" in s ? ["object"] : "items" in s ? ["array"] : [...TYPES].filter((t) => t !== "integer");
    else {
      const list = Array.isArray(s.type) ? s.type : [s.type];
      const bad = list.find((t) => !TYPES.includes(t as TypeName));
      if (bad !== undefined || !list.length) throw new SchemaError(`${at}/type: unknown type ${JSON.stringify(bad)}`);
      types = list as TypeName[];
    }
    if (s.type === undefined && types.length > 1 && !hasConstraints(s)) return ANY;
    const nodes = types.map((t) => typed(t, s, at));
    return nodes.length === 1 ? nodes[0]! : { kind: "union", options: nodes };
  };

  const typed = (t: TypeName, s: Json, at: string): SchemaNode => {
    const int = (k: string, dflt: number): number => {
      const v = s[k];
      if (v === undefined) return dflt;
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new SchemaError(`${at}/${k}: must be a non-negative integer`);
      return v;
    };
    switch (t) {
      case "object": {
        const props = new Map<string, SchemaNode>();
        if (s.properties !== undefined && !isObj(s.properties)) throw new SchemaError(`${at}/properties: must be an object`);
        for (const [k, v] of Object.entries((s.properties as Json | undefined) ?? {})) props.set(k, compile(v, `${at}/properties/${k}`));
        const required = s.required ?? [];
        if (!Array.isArray(required) || required.some((r) => typeof r !== "string"))
          throw new SchemaError(`${at}/required: must be a list of names`);
        const ap = s.additionalProperties;
        const additional = ap === undefined || ap === true ? ANY : ap === false ? null : compile(ap, `${at}/additionalProperties`);
        const missing = (required as string[]).find((r) => !props.has(r) && additional === null);
        if (missing !== undefined)
          throw new SchemaError(`${at}/required: "${missing}" is required but additionalProperties is false and it is not in properties`);
        return { kind: "object", props, required: [...new Set(required as string[])], additional };
      }
      case "array": {
        const minItems = int("minItems", 0);
        const maxItems = int("maxItems", Infinity);
        if (maxItems < minItems) throw new SchemaError(`${at}: maxItems is below minItems`);
        return { kind: "array", items: s.items === undefined ? ANY : compile(s.items, `${at}/items`), minItems, maxItems };
      }
      case "string": {
        const minLength = int("minLength", 0);
        const maxLength = int("maxLength", Infinity);
        if (maxLength < minLength) throw new SchemaError(`${at}: maxLength is below minLength`);
        return { kind: "string", minLength, maxLength };
      }
      case "number":
      case "integer":
        return { kind: "number", integer: t === "integer" };
      case "boolean":
        return { kind: "boolean" };
      case "null":
        return { kind: "null" };
    }
  };

  // local references only (#/$defs/x, #/definitions/x, #); a placeholder union breaks cycles
  const ref = (pointer: string, at: string): SchemaNode => {
    const hit = refs.get(pointer);
    if (hit) return hit;
    if (!pointer.startsWith("#")) throw new SchemaError(`${at}/$ref: only local references (#/$defs/…) are supported, not ${pointer}`);
    let target: unknown = root;
    for (const part of pointer.slice(1).split("/").filter(Boolean)) {
      const key = decodeURIComponent(part).replaceAll("~1", "/").replaceAll("~0", "~");
      target = isObj(target) ? target[key] : undefined;
    }
    if (target === undefined) throw new SchemaError(`${at}/$ref: ${pointer} points at nothing`);
    const node: SchemaNode = { kind: "union", options: [] };
    refs.set(pointer, node);
    node.options.push(compile(target, pointer.slice(1)));
    return node;
  };

  return compile(root, "");
}

function hasConstraints(s: Json): boolean {
  return ["required", "additionalProperties", "minItems", "maxItems", "minLength", "maxLength"].some((k) => k in s);
}
