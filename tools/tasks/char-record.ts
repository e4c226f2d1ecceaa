// char-record (format transformation): a sentence or two about a character → a fixed key:value record.
// The text orders the facts differently each time and names the mood with a synonym ("cheerful"), while
// the record always has the same keys in the same order and the canonical mood (happy/sad/scared/angry).

import { a, cap } from "../corpus/grammar.ts";
import { FEELINGS, MOODS } from "../corpus/lexicon-people.ts";
import { PLACES, THINGS } from "../corpus/lexicon-world.ts";
import type { CorpusRng } from "../corpus/rng.ts";
import { makeAnimal, makeChild } from "../corpus/story-ctx.ts";
import type { Task } from "./task.ts";

export const charRecord: Task = {
  name: "char-record",
  description:
    'Format transformation: one or two sentences describing a character (name, what kind of child or animal, mood, where they are, what they have) become a record "name: … | kind: … | mood: … | place: … | thing: …". Sentence templates put the facts in different orders; the mood is written as one of five synonyms and must be mapped to happy, sad, scared or angry.',
  make(r: CorpusRng) {
    const c = r.chance(0.6) ? makeChild(r) : makeAnimal(r);
    const mood = r.pick(MOODS);
    const word = r.pick(FEELINGS[mood].words);
    const place = r.pick(PLACES);
    const t = r.pick(THINGS);
    const thing = `${r.pick(t.looks)} ${t.name}`;
    const P = cap(c.pro.subj);
    const templates = [
      () => `${c.name} is ${a(`${word} ${c.kind}`)} ${place.at}. ${P} has ${a(thing)}.`,
      () => `${cap(place.at)}, there is ${a(`${word} ${c.kind}`)} named ${c.name}, holding ${a(thing)}.`,
      () => `${c.name} the ${c.kind} has ${a(thing)}. ${P} is ${place.at} and feels ${word} today.`,
      () => `${cap(a(thing))} belongs to ${c.name}, ${a(`${word} ${c.kind}`)} who is ${place.at} right now.`,
      () => `Today ${c.name} feels ${word}. ${P} is ${a(c.kind)} ${place.at}, and ${c.pro.subj} has ${a(thing)} with ${c.pro.obj}.`,
      () => `With ${a(thing)} in hand, ${c.name} the ${word} ${c.kind} is ${place.at}.`,
    ];
    const text = r.pick(templates)();
    return {
      prompt: `Text: ${text}\nRecord:`,
      completion: ` name: ${c.name} | kind: ${c.kind} | mood: ${mood} | place: ${place.name} | thing: ${thing}`,
    };
  },
};
