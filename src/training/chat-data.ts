// Chat training lines, {"messages": [{role, content}, …]}: checked, rendered with the model's own chat
// template (the one the chat endpoints use), tokenized, and marked so that the loss covers the assistant
// turns only — each turn's text as the template writes it, its end-of-turn marker included.

import type { ChatMessage } from "../models/index.ts";
import type { LoadedModel } from "../models/index.ts";

export const CHAT_ROLES = ["system", "user", "assistant"] as const;
const MESSAGE_KEYS = new Set(["role", "content", "weight"]);

/** A chat line after the structural checks: its messages and which of them are trained on. */
export interface RawChat {
  line: number;
  messages: ChatMessage[];
  /** indices of the assistant messages the loss covers (weight 1, the default) */
  trained: number[];
}

/** A rendered, tokenized conversation: the ids and the [start, end) token spans of its trained turns. */
export interface ChatTokens {
  ids: number[];
  spans: Array<[number, number]>;
}

type Model = Pick<LoadedModel, "config" | "tokenizer">;

/** Structural checks of a `messages` line; returns the reason it is bad, or the conversation. */
export function checkChatLine(obj: Record<string, unknown>, line: number, model: Model): RawChat | string {
  const others = Object.keys(obj).filter((k) => k !== "messages");
  if (others.length) return `"messages" comes alone: remove ${others.map((k) => JSON.stringify(k)).join(", ")}`;
  if (!model.tokenizer) return `"messages" is text but the model has no tokenizer.json; give "prompt_ids" and "completion_ids" instead`;
  if (model.tokenizer.chatTemplate === null)
    return `"messages" needs the model's chat template, and this model has none (tokenizer_config.json "chat_template"); give "prompt" and "completion" instead`;
  const list = obj.messages;
  if (!Array.isArray(list) || list.length === 0) return `"messages" must be a non-empty list of {"role", "content"}`;
  const messages: ChatMessage[] = [];
  const trained: number[] = [];
  for (const [i, m] of list.entries()) {
    const at = `messages[${i}]`;
    if (typeof m !== "object" || m === null || Array.isArray(m)) return `${at} must be an object {"role", "content"}`;
    const o = m as Record<string, unknown>;
    const extra = Object.keys(o).filter((k) => !MESSAGE_KEYS.has(k));
    if (extra.length)
      return `${at}: unknown key ${JSON.stringify(extra[0])} (a message has "role", "content" and, for assistant turns, "weight")`;
    if (typeof o.role !== "string" || !(CHAT_ROLES as readonly string[]).includes(o.role))
      return `${at}.role must be one of ${CHAT_ROLES.map((r) => `"${r}"`).join(", ")}, found ${JSON.stringify(o.role ?? null)}`;
    if (typeof o.content !== "string") return `${at}.content must be a string`;
    if (o.weight !== undefined && (o.role !== "assistant" || (o.weight !== 0 && o.weight !== 1)))
      return `${at}.weight must be 0 or 1, and only on assistant messages`;
    if (o.role === "assistant" && o.weight !== 0) {
      if (o.content === "") return `${at} is an empty assistant message: there is nothing to learn`;
      trained.push(i);
    }
    messages.push({ role: o.role, content: o.content });
  }
  if (trained.length === 0) return `"messages" has no assistant message to learn from (with weight 1)`;
  return { line, messages, trained };
}

/**
 * Render and tokenize a conversation up to its last trained turn. A turn's tokens are those the whole
 * conversation's tokenization holds between the prompt that opens the turn (the history with the
 * template's generation prompt, what the chat endpoint feeds the model) and the history that includes it.
 * Returns the reason when the template fails or does not extend the history turn by turn.
 */
export async function tokenizeChat(chat: RawChat, model: Model): Promise<ChatTokens | string> {
  const tok = model.tokenizer!;
  const texts: string[] = [];
  try {
    for (const i of chat.trained) {
      texts.push(tok.applyChatTemplate(chat.messages.slice(0, i), { addGenerationPrompt: true }));
      texts.push(tok.applyChatTemplate(chat.messages.slice(0, i + 1)));
    }
  } catch (e) {
    return `the chat template fails on this conversation: ${(e as Error).message}`;
  }
  for (let k = 1; k < texts.length; k++) {
    if (!texts[k]!.startsWith(texts[k - 1]!)) {
      const turn = chat.trained[Math.floor(k / 2)]!;
      return `the chat template does not render messages[${turn}] after the conversation before it (it rewrites earlier turns), so its tokens cannot be told apart`;
    }
  }
  // templates write special tokens (BOS, turn markers) as text themselves, as transformers assumes
  const enc = await tok.encodeBatch(texts, { addSpecialTokens: false });
  const ids = enc.at(-1)!;
  const common = (a: readonly number[]) => {
    let n = 0;
    while (n < a.length && n < ids.length && a[n] === ids[n]) n++;
    return n;
  };
  const spans: Array<[number, number]> = [];
  for (let k = 0; k < enc.length; k += 2) {
    // where a boundary merges into one token, the shared token prefix decides (the turn then starts earlier)
    const start = common(enc[k]!);
    const end = common(enc[k + 1]!);
    if (end <= start) return `messages[${chat.trained[k / 2]!}] has no tokens after rendering and tokenization`;
    spans.push([start, end]);
  }
  return { ids, spans };
}
