// The JSON automaton against documents: valid ones are accepted byte by byte and may end; invalid ones
// are refused at the first byte that breaks them (checked against JSON.parse + ajv for the same schema).

import assert from "node:assert/strict";
import { test } from "node:test";
import { Ajv } from "ajv";
import { type Stack, canEnd, initial, minClose, minLen, step } from "../../src/serving/constrained/json-automaton.ts";
import { ANY_OBJECT, SchemaError, compileSchema } from "../../src/serving/constrained/schema.ts";
import type { SchemaNode } from "../../src/serving/constrained/schema.ts";

function accepts(node: SchemaNode, doc: string): boolean {
  let states: Stack[] = [initial(node)];
  for (const b of Buffer.from(doc, "utf8")) {
    states = states.flatMap((s) => step(s, b));
    if (!states.length) return false;
  }
  return states.some(canEnd);
}

const PERSON = {
  type: "object",
  properties: {
    name: { type: "string", minLength: 1, maxLength: 8 },
    age: { type: "integer" },
    tags: { type: "array", items: { enum: ["a", "b", 3, null] }, maxItems: 2 },
    pet: {
      anyOf: [
        { type: "null" },
        { type: "object", properties: { kind: { const: "cat" } }, required: ["kind"], additionalProperties: false },
      ],
    },
    'we"ird': { type: "boolean" },
  },
  required: ["name", "age"],
  additionalProperties: false,
};

test("json automaton: agrees with JSON.parse + ajv on valid and invalid documents", () => {
  const ajv = new Ajv();
  const cases: [unknown, string[]][] = [
    [
      PERSON,
      [
        '{"name":"Ann","age":3}',
        '{ "age" : -0, "name" : "é\\u00e9\\n" }',
        '{"name":"x","age":12,"tags":["a",3],"pet":{"kind":"cat"}}',
        '{"name":"x","age":1,"pet":null,"we\\"ird":true}',
        '{"name":"","age":1}',
        '{"name":"x"}',
        '{"name":"x","age":1.5}',
        '{"name":"x","age":1,"tags":["a","b",3]}',
        '{"name":"x","age":1,"other":1}',
        '{"name":"x","age":1,"name":"y"}',
        '{"name":"123456789","age":1}',
        '{"name":"x","age":01}',
        '{"name":"x","age":1,}',
        '{"name":"x","age":1,"pet":{"kind":"dog"}}',
      ],
    ],
    [{ type: "array", items: { type: "number" }, minItems: 1 }, ["[1,2.5e-3,-0.1E+2]", "[]", "[1,]", "[.5]", "[1e]", "[-]", " [0] "]],
    [{ type: ["string", "null"] }, ['"a"', "null", "nul", "1"]],
    [true, ['{"a":[1,{"b":null}],"c":"d"}', "[true,false]", "12", '"x"', "{1:2}", "[1 2]"]],
  ];
  for (const [schema, docs] of cases) {
    const node = compileSchema(schema);
    const validate = ajv.compile(schema as object);
    for (const doc of docs) {
      let want: boolean;
      try {
        want = validate(JSON.parse(doc)) as boolean;
      } catch {
        want = false;
      }
      // a trailing space after the document is never emitted: the automaton ends documents at their last byte
      if (doc.endsWith(" ")) want = false;
      // duplicate keys parse (the last wins) but are never generated
      if (doc.includes('"name":"y"')) want = false;
      assert.equal(accepts(node, doc), want, `${JSON.stringify(schema)} ${doc}`);
    }
  }
  assert.ok(accepts(ANY_OBJECT, '{"k":[1,"v",{}]}'));
  assert.ok(!accepts(ANY_OBJECT, "[1]"));
});

test("json automaton: minClose never exceeds what a real completion needs, and minLen is exact for simple schemas", () => {
  const node = compileSchema(PERSON);
  assert.equal(minLen(node), '{"name":"x","age":0}'.length);
  // along a document, the closing estimate plus bytes so far never exceeds the document's length
  const doc = '{"name":"x","age":0}';
  let states: Stack[] = [initial(node)];
  let i = 0;
  for (const b of Buffer.from(doc)) {
    states = states.flatMap((s) => step(s, b));
    i++;
    assert.ok(Math.min(...states.map(minClose)) <= doc.length - i, `after ${doc.slice(0, i)}`);
  }
  assert.equal(Math.min(...states.map(minClose)), 0);
});

test("json schema: unsupported keywords are refused with where they are", () => {
  assert.throws(
    () => compileSchema({ type: "object", properties: { a: { type: "string", pattern: "^x" } } }),
    (e: unknown) => e instanceof SchemaError && /\/properties\/a: keyword "pattern"/.test(e.message),
  );
  assert.throws(() => compileSchema({ $ref: "https://example.com/s.json" }), /only local references/);
  assert.throws(() => compileSchema({ type: "decimal" }), /unknown type/);
  const tree = compileSchema({
    $defs: {
      node: {
        type: "object",
        properties: { next: { anyOf: [{ $ref: "#/$defs/node" }, { type: "null" }] } },
        required: ["next"],
        additionalProperties: false,
      },
    },
    $ref: "#/$defs/node",
  });
  assert.ok(accepts(tree, '{"next":{"next":null}}'));
  assert.ok(!accepts(tree, '{"next":{}}'));
});
