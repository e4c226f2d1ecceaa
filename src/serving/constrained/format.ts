// A request's response format → its token constraint: checks that the model can be constrained (it needs
// a tokenizer to know each token's bytes) and that max tokens leave room for the shortest document.

import type { SprigTokenizer } from "../../models/index.ts";
import type { ResponseFormat } from "../sampling.ts";
import { JsonMatcher } from "./matcher.ts";
import { ANY_OBJECT, SchemaError, compileSchema } from "./schema.ts";
import { tokenBytes } from "./token-bytes.ts";

/** compiled schemas by their JSON text, so requests with the same schema share one node tree (and its cached walks) */
const compiled = new Map<string, ReturnType<typeof compileSchema>>();

function compileCached(schema: unknown) {
  const key = JSON.stringify(schema);
  let node = compiled.get(key);
  if (node) compiled.delete(key);
  else node = compileSchema(schema);
  compiled.set(key, node);
  if (compiled.size > 64) compiled.delete(compiled.keys().next().value!);
  return node;
}

export class FormatError extends Error {
  override name = "FormatError";
}

/** The matcher for `format`, or null for free text. Throws FormatError (a 400) when it cannot be served. */
export function constraintFor(
  format: ResponseFormat | null,
  tok: SprigTokenizer | null,
  stopIds: ReadonlySet<number>,
  maxNew: number,
): JsonMatcher | null {
  if (!format || format.type === "text") return null;
  if (!tok) throw new FormatError(`response format ${format.type} needs the model's tokenizer (tokenizer.json); this model has none`);
  let root;
  try {
    root = format.type === "json_object" ? ANY_OBJECT : compileCached(format.schema);
  } catch (e) {
    if (e instanceof SchemaError) throw new FormatError(`json_schema: ${e.message}`);
    throw e;
  }
  const shortest = JsonMatcher.shortest(root);
  if (shortest > maxNew)
    throw new FormatError(`max tokens (${maxNew}) is below the shortest output the ${format.type} format allows (${shortest} tokens)`);
  return new JsonMatcher(tokenBytes(tok), root, stopIds);
}
