// Training data: JSONL files of prompt/completion (or classification) examples, checked in full before
// any training starts. Every bad line is reported with its number and reason in one DataError.

import { readFile } from "node:fs/promises";
import type { LoadedModel } from "../models/index.ts";
import { type RawChat, checkChatLine, tokenizeChat } from "./chat-data.ts";

/** One training example as token ids. */
export interface Example {
  /** 1-based line in the source file */
  line: number;
  /** prompt ids (text prompts carry the tokenizer's special tokens, e.g. BOS) */
  prompt: number[];
  /** completion ids (text completions end with EOS when the model has one); for choices: the correct one */
  completion: number[];
  /** classification: every answer choice's ids (each scored as a continuation of the prompt) */
  choices?: number[][];
  /** index of the correct choice */
  label?: number;
  /** chat: which completion tokens are scored (the assistant turns'; the template's text between turns is not) */
  scored?: boolean[];
}

export interface LineProblem {
  line: number;
  reason: string;
}

/** The data cannot be trained on; `lines` holds every bad line (empty when the problem is file-wide). */
export class DataError extends Error {
  override name = "DataError";
  constructor(
    message: string,
    readonly lines: LineProblem[] = [],
    /** valid examples the file holds, when it was read to the end */
    readonly validExamples?: number,
  ) {
    super(message);
  }
}

export const MIN_EXAMPLES = 32;

export interface LoadDataOptions {
  /** fewest valid examples accepted (default 32) */
  minExamples?: number;
  /** what the file is, in messages (default "training data") */
  what?: string;
}

const PROMPT_KEYS = ["prompt", "prompt_ids"] as const;
const TARGET_KEYS = ["completion", "completion_ids", "choices", "choices_ids"] as const;
const KNOWN = new Set<string>([...PROMPT_KEYS, ...TARGET_KEYS, "label"]);
const FORMAT_HINT =
  'expected {"prompt", "completion"}, {"prompt_ids", "completion_ids"}, {"prompt", "choices", "label"} (ids variants: prompt_ids, choices_ids) or {"messages"}';

/** A line's fields before tokenization: text (string) or ids (number[]). */
interface RawExample {
  line: number;
  prompt: string | number[];
  targets: Array<string | number[]>;
  label?: number;
}

/** Read, validate and tokenize a JSONL file for `model`. Throws DataError listing every bad line. */
export async function loadDataset(
  path: string,
  model: Pick<LoadedModel, "config" | "tokenizer">,
  o: LoadDataOptions = {},
): Promise<Example[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new DataError(`cannot read ${o.what ?? "training data"} ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseDataset(bytes, model, o);
}

export async function parseDataset(
  bytes: Uint8Array,
  model: Pick<LoadedModel, "config" | "tokenizer">,
  o: LoadDataOptions = {},
): Promise<Example[]> {
  const problems: LineProblem[] = [];
  const raws: RawExample[] = [];
  const chats: RawChat[] = [];
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  let start = 0;
  for (let line = 1; start <= bytes.length; line++) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    const chunk = bytes.subarray(start, end);
    start = end + 1;
    let text: string;
    try {
      text = decoder.decode(chunk);
    } catch {
      problems.push({ line, reason: "not valid UTF-8" });
      continue;
    }
    if (text.trim() === "") continue; // blank lines (e.g. the final newline) carry nothing
    const r = checkLine(text, line, model);
    if (typeof r === "string") problems.push({ line, reason: r });
    else if ("messages" in r) chats.push(r);
    else raws.push(r);
  }
  const examples = [...(await tokenize(raws, model, problems)), ...(await tokenizeChats(chats, model, problems))].sort(
    (a, b) => a.line - b.line,
  );
  const what = o.what ?? "training data";
  problems.sort((a, b) => a.line - b.line);
  if (problems.length) {
    const n = problems.length;
    throw new DataError(`${n} bad line${n > 1 ? "s" : ""} in the ${what}; nothing was trained`, problems, examples.length);
  }
  const min = o.minExamples ?? MIN_EXAMPLES;
  if (examples.length < min)
    throw new DataError(`the ${what} has ${examples.length} examples; at least ${min} are needed`, [], examples.length);
  return examples;
}

/** Structural checks of one line; returns the reason it is bad, or its fields. */
function checkLine(text: string, line: number, model: Pick<LoadedModel, "config" | "tokenizer">): RawExample | RawChat | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return `not valid JSON (${(e as Error).message})`;
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return `not a JSON object; ${FORMAT_HINT}`;
  const obj = v as Record<string, unknown>;
  if ("messages" in obj) return checkChatLine(obj, line, model);
  const unknown = Object.keys(obj).filter((k) => !KNOWN.has(k));
  if (unknown.length)
    return `unknown key${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => JSON.stringify(k)).join(", ")}; ${FORMAT_HINT}`;
  const pk = PROMPT_KEYS.filter((k) => k in obj);
  const tk = TARGET_KEYS.filter((k) => k in obj);
  if (pk.length !== 1) return pk.length ? `give only one of "prompt" and "prompt_ids"` : `missing "prompt"; ${FORMAT_HINT}`;
  if (tk.length !== 1) return tk.length ? `give only one of ${tk.map((k) => `"${k}"`).join(", ")}` : `missing "completion"; ${FORMAT_HINT}`;
  const vocab = model.config.vocabSize;
  const field = (key: string, val: unknown): string | number[] | { bad: string } => {
    if (key.endsWith("_ids")) return checkIds(key, val, vocab);
    if (typeof val !== "string") return { bad: `"${key}" must be a string, found ${kind(val)}` };
    if (!model.tokenizer) return { bad: `"${key}" is text but the model has no tokenizer.json; give "${key}_ids" (token ids) instead` };
    return val;
  };
  const prompt = field(pk[0]!, obj[pk[0]!]);
  if (typeof prompt === "object" && !Array.isArray(prompt)) return prompt.bad;
  const target = tk[0]!;
  if (target.startsWith("completion")) {
    if ("label" in obj) return `"label" belongs with "choices", not "${target}"`;
    const c = field(target, obj[target]);
    if (typeof c === "object" && !Array.isArray(c)) return c.bad;
    if (c.length === 0) return `"${target}" is empty: there is nothing to learn`;
    return { line, prompt, targets: [c] };
  }
  const list = obj[target];
  if (!Array.isArray(list) || list.length < 2) return `"${target}" must be a list of at least 2 answer choices, found ${kind(list)}`;
  const targets: Array<string | number[]> = [];
  for (const [i, el] of list.entries()) {
    const c = field(target, el);
    if (typeof c === "object" && !Array.isArray(c)) return c.bad.replace(`"${target}"`, `${target}[${i}]`);
    if (c.length === 0) return `${target}[${i}] is empty`;
    targets.push(c);
  }
  const label = obj.label;
  if (label === undefined) return `missing "label" (index of the correct choice)`;
  if (typeof label !== "number" || !Number.isInteger(label) || label < 0 || label >= list.length)
    return `"label" must be an integer index into ${target} (0..${list.length - 1}), found ${JSON.stringify(label)}`;
  return { line, prompt, targets, label };
}

function checkIds(key: string, v: unknown, vocab: number): number[] | { bad: string } {
  if (!Array.isArray(v)) return { bad: `"${key}" must be a list of token ids, found ${kind(v)}` };
  for (const [i, t] of v.entries()) {
    if (typeof t !== "number" || !Number.isInteger(t) || t < 0 || t >= vocab)
      return { bad: `"${key}"[${i}] = ${JSON.stringify(t)} is not a token id in [0, ${vocab})` };
  }
  return v as number[];
}

function kind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return `a list of ${v.length}`;
  return typeof v === "string" ? "text" : typeof v;
}

/** Tokenize text fields in batches, then check lengths against the model's context. */
async function tokenize(raws: RawExample[], model: Pick<LoadedModel, "config" | "tokenizer">, problems: LineProblem[]): Promise<Example[]> {
  const tok = model.tokenizer;
  const eos = tok?.eosTokenId ?? model.config.eosTokenIds[0] ?? null;
  const prompts = raws.flatMap((r) => (typeof r.prompt === "string" ? [r.prompt] : []));
  const targets = raws.flatMap((r) => r.targets.filter((t): t is string => typeof t === "string"));
  const encode = async (texts: string[], special: boolean) => {
    const out: number[][] = [];
    for (let i = 0; i < texts.length; i += 256)
      out.push(...(await tok!.encodeBatch(texts.slice(i, i + 256), { addSpecialTokens: special })));
    return out;
  };
  const pIds = prompts.length ? await encode(prompts, true) : [];
  const tIds = targets.length ? await encode(targets, false) : [];
  let pi = 0;
  let ti = 0;
  const max = model.config.maxPositions;
  const out: Example[] = [];
  for (const r of raws) {
    const prompt = typeof r.prompt === "string" ? pIds[pi++]! : r.prompt;
    const conts = r.targets.map((t) => (typeof t === "string" ? (eos === null ? tIds[ti++]! : [...tIds[ti++]!, eos]) : t));
    if (prompt.length === 0) {
      problems.push({ line: r.line, reason: "the prompt has no tokens: the first completion token needs a token before it" });
      continue;
    }
    if (conts.some((c) => c.length === 0)) {
      problems.push({ line: r.line, reason: "a completion has no tokens after tokenization" });
      continue;
    }
    const longest = Math.max(...conts.map((c) => c.length));
    if (prompt.length + longest > max) {
      problems.push({
        line: r.line,
        reason: `${prompt.length + longest} tokens (prompt ${prompt.length} + completion ${longest}) exceed the model's context of ${max}`,
      });
      continue;
    }
    if (r.label === undefined) out.push({ line: r.line, prompt, completion: conts[0]! });
    else out.push({ line: r.line, prompt, completion: conts[r.label]!, choices: conts, label: r.label });
  }
  return out;
}

/** Render and tokenize chat lines: prompt = the tokens before the first trained turn, the rest is scored by turn. */
async function tokenizeChats(
  chats: RawChat[],
  model: Pick<LoadedModel, "config" | "tokenizer">,
  problems: LineProblem[],
): Promise<Example[]> {
  const out: Example[] = [];
  const max = model.config.maxPositions;
  for (const c of chats) {
    const t = await tokenizeChat(c, model);
    if (typeof t === "string") {
      problems.push({ line: c.line, reason: t });
      continue;
    }
    const first = t.spans[0]![0];
    if (first === 0) {
      problems.push({ line: c.line, reason: "the prompt has no tokens: the first completion token needs a token before it" });
      continue;
    }
    if (t.ids.length > max) {
      problems.push({
        line: c.line,
        reason: `${t.ids.length} tokens (prompt ${first} + completion ${t.ids.length - first}) exceed the model's context of ${max}`,
      });
      continue;
    }
    const scored = new Array<boolean>(t.ids.length - first).fill(false);
    for (const [a, b] of t.spans) for (let i = a; i < b; i++) scored[i - first] = true;
    out.push({ line: c.line, prompt: t.ids.slice(0, first), completion: t.ids.slice(first), scored });
  }
  return out;
}
