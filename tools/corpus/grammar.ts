// Small English helpers the templates share: articles, capitals, pronoun sets, lists, sentence joining.

export interface Pronouns {
  /** he / she */
  subj: string;
  /** him / her */
  obj: string;
  /** his / her */
  poss: string;
  /** himself / herself */
  self: string;
}

export const HE: Pronouns = { subj: "he", obj: "him", poss: "his", self: "himself" };
export const SHE: Pronouns = { subj: "she", obj: "her", poss: "her", self: "herself" };

/** "a" or "an" before a phrase */
export function article(phrase: string): string {
  return /^[aeiou]/i.test(phrase) && !/^(one|uni|use|eu)/i.test(phrase) ? "an" : "a";
}

/** "an apple", "a red ball" */
export const a = (phrase: string): string => `${article(phrase)} ${phrase}`;

export const cap = (s: string): string => (s.length === 0 ? s : s[0]!.toUpperCase() + s.slice(1));

/** "x", "x and y", "x, y and z" */
export function list(xs: readonly string[]): string {
  if (xs.length <= 1) return xs[0] ?? "";
  return `${xs.slice(0, -1).join(", ")} and ${xs[xs.length - 1]}`;
}

/** Capitalise each sentence's first letter and join with single spaces. */
export function paragraph(sentences: readonly string[]): string {
  // templates may put several sentences in one string: capitalise after ". " too (not after '!" ', where
  // the quoted line ends but the sentence goes on with "said ...")
  return sentences.map((s) => cap(s.trim()).replace(/([.!?] )([a-z])/g, (_, p: string, c: string) => p + c.toUpperCase())).join(" ");
}

/** '"Hello," said Mia.' / '"Where is it?" asked Mia.' — the line's own end punctuation decides the comma. */
export function quote(line: string, speaker: string, verb = "said", after = false): string {
  const trimmed = line.trim();
  const ends = /[?!]$/.test(trimmed);
  if (after) return `${speaker} ${verb}, "${cap(ends ? trimmed : trimmed.replace(/[.,]?$/, "."))}"`;
  return `"${cap(ends ? trimmed : trimmed.replace(/[.,]?$/, ","))}" ${verb} ${speaker}.`;
}
