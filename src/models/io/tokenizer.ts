// SprigTokenizer: a model directory's tokenizer.json (run by the Hugging Face `tokenizers` binding) plus
// tokenizer_config.json (bos/eos, add_bos_token/add_eos_token, chat template), and a streaming decoder.
// The binding's encode is async (it runs off the main thread); decoding here is synchronous, done with the
// binding's own Decoder on the id -> token table, which is how the Rust tokenizer decodes too.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Decoder, Tokenizer } from "tokenizers";
import { ChatTemplate, type ChatMessage, type ChatTemplateOptions, DEFAULT_CHAT_TEMPLATE, findChatTemplate } from "./chat-template.ts";
import { ModelIoError } from "./errors.ts";

export { type ChatMessage, type ChatTemplateOptions, DEFAULT_CHAT_TEMPLATE } from "./chat-template.ts";

export interface EncodeOptions {
  /** Add the tokenizer's special tokens (e.g. BOS). Default true, as in transformers. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens (added tokens marked special). Default false, as in transformers. */
  skipSpecialTokens?: boolean;
}

/** What tokenizer_config.json (and special_tokens_map.json) say, parsed. */
interface TokenizerSettings {
  bosToken: string | null;
  eosToken: string | null;
  specialTokenStrings: Record<string, string>;
  /** Present only when the config sets add_bos_token / add_eos_token explicitly. */
  addBos?: boolean;
  addEos?: boolean;
  cleanUpSpaces: boolean;
  chatTemplate: string | null;
}

type TokenSpec = string | { content: string } | null | undefined;
const tokenString = (t: TokenSpec): string | null =>
  typeof t === "string" ? t : t !== null && typeof t === "object" && typeof t.content === "string" ? t.content : null;

function readJson(file: string): Record<string, unknown> | null {
  if (!existsSync(file)) return null;
  try {
    const v = JSON.parse(readFileSync(file, "utf8")) as unknown;
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("expected a JSON object");
    return v as Record<string, unknown>;
  } catch (e) {
    throw new ModelIoError(file, (e as Error).message);
  }
}

// transformers' clean_up_tokenization: undo the spaces old word-level tokenizers put before punctuation.
const CLEANUPS: [string, string][] = [[" .", "."], [" ?", "?"], [" !", "!"], [" ,", ","], [" ' ", "'"], [" n't", "n't"], [" 'm", "'m"], [" 's", "'s"], [" 've", "'ve"], [" 're", "'re"]];
const cleanUp = (s: string): string => CLEANUPS.reduce((acc, [from, to]) => acc.replaceAll(from, to), s);

export class SprigTokenizer {
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  /** The model's own chat template, or null when DEFAULT_CHAT_TEMPLATE is used. */
  readonly chatTemplate: string | null;
  /** Vocabulary size including added tokens. */
  readonly vocabSize: number;
  private readonly decoder: Decoder | null;
  private readonly idToTokenTable: (string | undefined)[] = [];
  private readonly tokenIds = new Map<string, number>();
  private readonly specialIds: ReadonlySet<number>;
  private readonly template: ChatTemplate;

  /** `native` is the loaded tokenizer.json; `specialIds` are its added tokens marked special. */
  constructor(
    private readonly native: Tokenizer,
    specialIds: Iterable<number>,
    private readonly settings: TokenizerSettings,
  ) {
    for (const [token, id] of Object.entries(native.getVocab(true))) {
      this.idToTokenTable[id] = token;
      this.tokenIds.set(token, id);
    }
    this.vocabSize = native.getVocabSize(true);
    this.decoder = native.getDecoder();
    this.specialIds = new Set(specialIds);
    this.bosToken = settings.bosToken;
    this.eosToken = settings.eosToken;
    this.bosTokenId = settings.bosToken === null ? null : this.tokenToId(settings.bosToken);
    this.eosTokenId = settings.eosToken === null ? null : this.tokenToId(settings.eosToken);
    this.chatTemplate = settings.chatTemplate;
    this.template = new ChatTemplate(settings.chatTemplate ?? DEFAULT_CHAT_TEMPLATE, settings.specialTokenStrings);
  }

  tokenToId(token: string): number | null {
    return this.tokenIds.get(token) ?? null;
  }

  idToToken(id: number): string | null {
    return this.idToTokenTable[id] ?? null;
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  // With explicit add_bos_token/add_eos_token the flags decide, as transformers' Llama tokenizer rebuilds
  // its post-processor from them; otherwise tokenizer.json's post-processor adds what it adds.
  private get ownsSpecials(): boolean {
    return this.settings.addBos !== undefined || this.settings.addEos !== undefined;
  }

  private wrap(ids: number[], addSpecialTokens: boolean): number[] {
    if (!addSpecialTokens || !this.ownsSpecials) return ids;
    const out = this.settings.addBos && this.bosTokenId !== null ? [this.bosTokenId, ...ids] : ids;
    if (this.settings.addEos && this.eosTokenId !== null) out.push(this.eosTokenId);
    return out;
  }

  async encode(text: string, options: EncodeOptions = {}): Promise<number[]> {
    const add = options.addSpecialTokens ?? true;
    const enc = await this.native.encode(text, null, { addSpecialTokens: add && !this.ownsSpecials });
    return this.wrap(enc.getIds(), add);
  }

  async encodeBatch(texts: string[], options: EncodeOptions = {}): Promise<number[][]> {
    const add = options.addSpecialTokens ?? true;
    const encs = await this.native.encodeBatch(texts, { addSpecialTokens: add && !this.ownsSpecials });
    return encs.map((e) => this.wrap(e.getIds(), add));
  }

  /** Raw decode without clean-up: unknown ids are dropped, as in the Rust tokenizer. */
  decodeRaw(ids: readonly number[], skipSpecialTokens: boolean): string {
    const tokens: string[] = [];
    for (const id of ids) {
      const t = this.idToTokenTable[id];
      if (t !== undefined && !(skipSpecialTokens && this.specialIds.has(id))) tokens.push(t);
    }
    return this.decoder ? this.decoder.decode(tokens) : tokens.join(" ");
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const text = this.decodeRaw(ids, options.skipSpecialTokens ?? false);
    return this.settings.cleanUpSpaces ? cleanUp(text) : text;
  }

  /**
   * A streaming decoder. `context` ids (e.g. the prompt's tail) are decoded first but not emitted, so the
   * first generated token renders as it would mid-text (e.g. keeps its leading space).
   */
  incrementalDecoder(options: DecodeOptions & { context?: readonly number[] } = {}): IncrementalDecoder {
    return new IncrementalDecoder(this, options.skipSpecialTokens ?? false, options.context ?? []);
  }

  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    return this.template.render(messages, options);
  }

  /** Render then encode without adding special tokens: templates write BOS themselves (as transformers does). */
  async encodeChat(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): Promise<number[]> {
    return this.encode(this.applyChatTemplate(messages, options), { addSpecialTokens: false });
  }
}

/**
 * Turns ids, pushed one at a time, into text deltas that are always complete characters. Byte-level BPE and
 * byte-fallback tokens can end mid-character; such text decodes with a trailing U+FFFD, so output waits
 * for the next token. Decoding a window from the last emitted boundary (rather than token by token) also
 * keeps decoders that look at neighbours (spaces, stripping) correct. No clean_up_tokenization here.
 */
export class IncrementalDecoder {
  private ids: number[];
  private prefix = 0; // window start: text of ids[prefix, read) was already emitted (or is context)
  private read: number;

  constructor(
    private readonly tokenizer: SprigTokenizer,
    private readonly skipSpecialTokens: boolean,
    context: readonly number[],
  ) {
    this.ids = [...context];
    this.read = this.ids.length;
  }

  /** Add one id; returns the new complete text ("" while a character is still incomplete). */
  push(id: number): string {
    this.ids.push(id);
    const before = this.tokenizer.decodeRaw(this.ids.slice(this.prefix, this.read), this.skipSpecialTokens);
    const after = this.tokenizer.decodeRaw(this.ids.slice(this.prefix), this.skipSpecialTokens);
    if (after.length <= before.length || after.endsWith("\uFFFD")) return "";
    this.prefix = this.read;
    this.read = this.ids.length;
    return after.slice(before.length);
  }

  /** End of stream: whatever is pending, incomplete characters included (as U+FFFD). Then starts afresh. */
  flush(): string {
    const before = this.tokenizer.decodeRaw(this.ids.slice(this.prefix, this.read), this.skipSpecialTokens);
    const after = this.tokenizer.decodeRaw(this.ids.slice(this.prefix), this.skipSpecialTokens);
    this.ids = [];
    this.prefix = this.read = 0;
    return after.slice(before.length);
  }
}

/**
 * The tokenizer of a model directory, or null when it has no tokenizer.json (callers then work with ids;
 * a SentencePiece-only tokenizer.model is not read).
 */
export function loadTokenizer(dir: string): SprigTokenizer | null {
  const file = join(dir, "tokenizer.json");
  if (!existsSync(file)) return null;
  const json = readJson(file)!;
  let native: Tokenizer;
  try {
    native = Tokenizer.fromFile(file);
  } catch (e) {
    throw new ModelIoError(file, `cannot load tokenizer (${(e as Error).message})`);
  }
  const added = Array.isArray(json.added_tokens) ? (json.added_tokens as { id?: unknown; special?: unknown }[]) : [];
  const specialIds = added.filter((t) => t.special === true && typeof t.id === "number").map((t) => t.id as number);

  const configFile = join(dir, "tokenizer_config.json");
  const config = readJson(configFile) ?? {};
  const map = readJson(join(dir, "special_tokens_map.json")) ?? {};
  const special = (key: string): string | null => tokenString(config[key] as TokenSpec) ?? tokenString(map[key] as TokenSpec);
  const specialTokenStrings: Record<string, string> = {};
  for (const key of ["bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token"]) {
    const v = special(key);
    if (v !== null) specialTokenStrings[key] = v;
  }
  const flag = (key: string): boolean | undefined => {
    const v = config[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "boolean") throw new ModelIoError(configFile, `${key}: expected true or false, found ${JSON.stringify(v)}`);
    return v;
  };
  const settings: TokenizerSettings = {
    bosToken: special("bos_token"),
    eosToken: special("eos_token"),
    specialTokenStrings,
    addBos: flag("add_bos_token"),
    addEos: flag("add_eos_token"),
    cleanUpSpaces: flag("clean_up_tokenization_spaces") ?? false,
    chatTemplate: findChatTemplate(dir, config.chat_template, configFile),
  };
  const tokenizer = new SprigTokenizer(native, specialIds, settings);
  // transformers refuses these configurations too; silently encoding without BOS would skew every prompt.
  if (settings.addBos === true && tokenizer.bosTokenId === null)
    throw new ModelIoError(configFile, `add_bos_token is true but bos_token ${JSON.stringify(settings.bosToken)} is not in the vocabulary`);
  if (settings.addEos === true && tokenizer.eosTokenId === null)
    throw new ModelIoError(configFile, `add_eos_token is true but eos_token ${JSON.stringify(settings.eosToken)} is not in the vocabulary`);
  return tokenizer;
}
