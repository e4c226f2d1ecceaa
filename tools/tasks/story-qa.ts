// story-qa (question answering over a story in the prompt): two or three characters each go somewhere,
// take something and do something there; the question asks where one went, who went to a place, or
// what one took. Every answer is a span of the story, but which span depends on the question.

import { a, cap, list, paragraph } from "../corpus/grammar.ts";
import { PLACES, THINGS } from "../corpus/lexicon-world.ts";
import type { CorpusRng } from "../corpus/rng.ts";
import { type Character, makeAnimal, makeChild } from "../corpus/story-ctx.ts";
import type { Task } from "./task.ts";

interface Outing {
  who: Character;
  place: (typeof PLACES)[number];
  thing: string;
}

const GO = ["went to", "walked to", "ran to", "spent the day at", "took the bus to"];

function story(r: CorpusRng): { text: string; outings: Outing[] } {
  const n = r.chance(0.5) ? 2 : 3;
  const cast: Character[] = [];
  for (let i = 0; i < n; i++)
    cast.push(
      r.chance(0.75)
        ? makeChild(
            r,
            cast.map((c) => c.name),
          )
        : makeAnimal(
            r,
            cast.map((c) => c.name),
          ),
    );
  const places = r.sample(
    PLACES.filter((p) => p.name !== "the kitchen"),
    n,
  );
  const things = r.sample(THINGS, n);
  const outings = cast.map((who, i) => ({ who, place: places[i]!, thing: `${r.pick(things[i]!.looks)} ${things[i]!.name}` }));
  const s: string[] = [];
  s.push(
    r.pick([
      `One ${r.pick(["sunny", "cloudy", "windy", "warm"])} ${r.pick(["morning", "day", "afternoon"])}, ${list(cast.map((c) => c.name))} went out.`,
      `${list(cast.map((c) => c.name))} were friends.`,
      `It was a busy day for ${list(cast.map((c) => c.name))}.`,
    ]),
  );
  for (const o of outings) {
    const go = r.pick(GO);
    if (r.chance(0.5)) s.push(`${o.who.name} took ${o.who.pro.poss} ${o.thing} and ${go} ${o.place.name}.`);
    else s.push(`${o.who.name} ${go} ${o.place.name} with ${a(o.thing)}.`);
  }
  for (const o of r.shuffle([...outings])) if (r.chance(0.7)) s.push(`${cap(o.place.at)}, ${o.who.name} ${r.pick(o.place.does)}.`);
  s.push(
    r.pick([
      "In the evening, they all met again and told each other about their day.",
      "At the end of the day, everyone went home tired and happy.",
      "Later, they all went home for dinner.",
    ]),
  );
  return { text: paragraph(s), outings };
}

export const storyQa: Task = {
  name: "story-qa",
  description:
    'Question answering over a short story given in the prompt: two or three characters each go to a different place with a different object. The question is one of "Where did X go?" (answer: the place), "Who went to P?" (the name) or "What did X take?" (the object). Answers are short spans copied from the story; the other characters\' places and objects are the distractors.',
  make(r) {
    const { text, outings } = story(r);
    const o = r.pick(outings);
    const kind = r.int(3);
    const [question, answer] =
      kind === 0
        ? [`Where did ${o.who.name} go?`, o.place.name]
        : kind === 1
          ? [`Who went to ${o.place.name}?`, o.who.name]
          : [`What did ${o.who.name} take?`, a(o.thing)];
    return { prompt: `Story: ${text}\nQuestion: ${question}\nAnswer:`, completion: ` ${answer}` };
  },
};
