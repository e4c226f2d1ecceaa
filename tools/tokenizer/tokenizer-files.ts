// A trained BPE model as Hugging Face files: tokenizer.json in the layout the `tokenizers` library writes
// (ByteLevel pre-tokenizer and decoder, BPE model, BOS added by the post-processor) and tokenizer_config.json
// (bos/eos/unk, add_bos_token, a simple chat template).

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BpeModel } from "./bpe-trainer.ts";

export const UNK = "<unk>";
export const BOS = "<s>";
export const EOS = "</s>";
export const SPECIAL_TOKENS = [UNK, BOS, EOS] as const;

/** Chat turns as "<|role|>\ncontent</s>\n" after one BOS; the prompt for a reply ends with "<|assistant|>\n". */
export const CHAT_TEMPLATE =
  "{{ bos_token }}{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] + eos_token + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}";

const byteLevel = (addPrefixSpace: boolean, trimOffsets: boolean) => ({
  type: "ByteLevel",
  add_prefix_space: addPrefixSpace,
  trim_offsets: trimOffsets,
  use_regex: true,
});

export function tokenizerJson(model: BpeModel): Record<string, unknown> {
  const bosId = model.vocab.indexOf(BOS);
  if (bosId < 0) throw new Error(`the vocabulary has no ${BOS}`);
  const added = SPECIAL_TOKENS.map((content) => {
    const id = model.vocab.indexOf(content);
    if (id < 0) throw new Error(`the vocabulary has no ${content}`);
    return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
  });
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: byteLevel(false, true),
    post_processor: {
      type: "Sequence",
      processors: [
        byteLevel(false, false),
        {
          type: "TemplateProcessing",
          single: [{ SpecialToken: { id: BOS, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
          pair: [
            { SpecialToken: { id: BOS, type_id: 0 } },
            { Sequence: { id: "A", type_id: 0 } },
            { SpecialToken: { id: BOS, type_id: 0 } },
            { Sequence: { id: "B", type_id: 0 } },
          ],
          special_tokens: { [BOS]: { id: BOS, ids: [bosId], tokens: [BOS] } },
        },
      ],
    },
    decoder: byteLevel(true, true),
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(model.vocab.map((t, i) => [t, i])),
      merges: model.merges,
    },
  };
}

export function tokenizerConfig(model: BpeModel, maxLength: number): Record<string, unknown> {
  const decoder: Record<string, unknown> = {};
  for (const t of SPECIAL_TOKENS)
    decoder[String(model.vocab.indexOf(t))] = {
      content: t,
      lstrip: false,
      normalized: false,
      rstrip: false,
      single_word: false,
      special: true,
    };
  return {
    add_bos_token: true,
    add_eos_token: false,
    added_tokens_decoder: decoder,
    bos_token: BOS,
    chat_template: CHAT_TEMPLATE,
    clean_up_tokenization_spaces: false,
    eos_token: EOS,
    model_max_length: maxLength,
    tokenizer_class: "PreTrainedTokenizerFast",
    unk_token: UNK,
  };
}

/** Write tokenizer.json and tokenizer_config.json into `dir`. */
export function writeTokenizer(dir: string, model: BpeModel, maxLength: number): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(tokenizerJson(model), null, 2) + "\n");
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify(tokenizerConfig(model, maxLength), null, 2) + "\n");
}
