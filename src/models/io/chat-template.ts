// Chat templates: find a model's Jinja template (tokenizer_config.json, chat_template.jinja or
// chat_template.json) and render messages with @huggingface/jinja, the way transformers'
// apply_chat_template does (its Jinja environment trims blocks; so does this one).

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Template } from "@huggingface/jinja";
import { ModelIoError } from "./errors.ts";

export interface ChatMessage {
  role: string;
  content: string;
  /** Templates may read other keys (name, tool_calls, ...); they are passed through. */
  [key: string]: unknown;
}

/**
 * Used when a tokenizer has no template of its own: ChatML, which transformers used as its class-level
 * default_chat_template before templates became mandatory. Each message renders as
 * `<|im_start|>{role}\n{content}<|im_end|>\n`; the generation prompt is `<|im_start|>assistant\n`.
 * On a vocabulary without those markers they are simply tokenized as text.
 */
export const DEFAULT_CHAT_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/**
 * The template a model directory declares, or null. `fromConfig` is tokenizer_config.json's `chat_template`:
 * a string, or a list of {name, template} of which "default" (else the first) is used.
 */
export function findChatTemplate(dir: string, fromConfig: unknown, configFile: string): string | null {
  if (typeof fromConfig === "string") return fromConfig;
  if (Array.isArray(fromConfig)) {
    const named = fromConfig.filter(
      (t): t is { name: string; template: string } => typeof t === "object" && t !== null && typeof t.name === "string" && typeof t.template === "string",
    );
    if (named.length !== fromConfig.length || named.length === 0)
      throw new ModelIoError(configFile, "chat_template: expected a string or a non-empty list of {name, template}");
    return (named.find((t) => t.name === "default") ?? named[0]!).template;
  }
  if (fromConfig !== undefined && fromConfig !== null) throw new ModelIoError(configFile, "chat_template: expected a string or a list of {name, template}");
  // Newer transformers save the template beside tokenizer_config.json instead of inside it.
  const jinjaFile = join(dir, "chat_template.jinja");
  if (existsSync(jinjaFile)) return readFileSync(jinjaFile, "utf8");
  const jsonFile = join(dir, "chat_template.json");
  if (existsSync(jsonFile)) {
    const parsed = JSON.parse(readFileSync(jsonFile, "utf8")) as { chat_template?: unknown };
    if (typeof parsed.chat_template !== "string") throw new ModelIoError(jsonFile, "chat_template: expected a string");
    return parsed.chat_template;
  }
  return null;
}

export interface ChatTemplateOptions {
  /** Append the prompt that opens the assistant's turn (HF `add_generation_prompt`). */
  addGenerationPrompt?: boolean;
  /** Further template variables (e.g. `tools`, `documents`, `enable_thinking`). */
  variables?: Record<string, unknown>;
}

/** A compiled template plus the special-token strings transformers exposes to it. */
export class ChatTemplate {
  private readonly compiled: Template;

  constructor(
    readonly source: string,
    private readonly specialTokens: Record<string, string>,
  ) {
    try {
      this.compiled = new Template(source);
    } catch (e) {
      throw new Error(`chat template does not parse: ${(e as Error).message}`);
    }
  }

  render(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    return this.compiled.render({
      ...this.specialTokens,
      ...options.variables,
      messages,
      add_generation_prompt: options.addGenerationPrompt ?? false,
    });
  }
}
