// story-mood (classification with answer choices): a short story; how does its hero feel at the end?
// The mood shows through events and body language and is named only sometimes; a quarter of the
// stories start in another mood first, so the answer depends on reading to the end.

import { a, cap, paragraph } from "../corpus/grammar.ts";
import { FEELINGS, MOODS, type Mood } from "../corpus/lexicon-people.ts";
import { FOODS, PLACES, THINGS } from "../corpus/lexicon-world.ts";
import type { CorpusRng } from "../corpus/rng.ts";
import { type Character, makeAnimal, makeChild } from "../corpus/story-ctx.ts";
import type { Task } from "./task.ts";

const CAUSES: Record<Mood, string[]> = {
  happy: [
    "got {thing} as a present",
    "found {poss} lost {thingname}",
    "won the big race",
    "saw {friend} come to play",
    "ate {food} with {friend}",
    "made a new friend",
    "saw a bright rainbow in the sky",
  ],
  sad: [
    "saw that {poss} {thingname} was broken",
    "heard that {friend} was moving far away",
    "lost {poss} {thingname} and could not find it",
    "had to stay inside because of the rain",
    "dropped {poss} ice cream on the ground",
    "saw that the little bird had flown away",
  ],
  scared: [
    "heard a loud noise in the dark",
    "saw a big dog growling at {obj}",
    "got lost and could not find the way home",
    "saw a strange shadow on the wall",
    "heard thunder and saw the lights go out",
    "was all alone when the wind howled",
  ],
  angry: [
    "saw {friend} take {poss} {thingname} without asking",
    "watched {friend} knock down {poss} sand castle",
    "was told {subj} could not play",
    "saw {friend} break {poss} {thingname} on purpose",
    "had to wait while {friend} skipped the line",
    "found that {friend} ate all the cookies",
  ],
};

function fill(s: string, r: CorpusRng, hero: Character, friend: Character, thingName: string): string {
  return s
    .replaceAll("{thingname}", thingName)
    .replaceAll("{thing}", a(thingName))
    .replaceAll("{food}", r.pick(FOODS).some)
    .replaceAll("{friend}", friend.name)
    .replaceAll("{poss}", hero.pro.poss)
    .replaceAll("{obj}", hero.pro.obj)
    .replaceAll("{subj}", hero.pro.subj);
}

function scene(r: CorpusRng, mood: Mood): { text: string; hero: Character } {
  const hero = r.chance(0.7) ? makeChild(r) : makeAnimal(r);
  const friend = r.chance(0.6) ? makeChild(r, [hero.name]) : makeAnimal(r, [hero.name]);
  const place = r.pick(PLACES);
  const thing = r.pick(THINGS);
  const thingName = `${r.pick(thing.looks)} ${thing.name}`;
  const s: string[] = [];
  s.push(
    r.pick([
      `${hero.name} was ${place.at} with ${friend.name}.`,
      `One day, ${hero.name} went to ${place.name}.`,
      `${hero.name} the ${hero.kind} was ${place.at}.`,
    ]),
  );
  if (r.chance(0.7)) s.push(`${cap(hero.pro.subj)} ${r.pick(place.does)}.`);
  if (r.chance(0.25)) {
    const before = r.pickOther(MOODS, mood);
    s.push(
      `At first, ${hero.name} ${r.pick(FEELINGS[before].shows).replaceAll("{p}", hero.pro.poss).replaceAll("{s}", hero.pro.subj)}, because ${hero.pro.subj} ${fill(r.pick(CAUSES[before]), r, hero, friend, thingName)}.`,
    );
    s.push(r.pick(["But then things changed.", "Later, something else happened.", "Then everything was different."]));
  }
  s.push(
    `${r.pick(["Then", "Suddenly,", "After a while,", "Later,"])} ${hero.name} ${fill(r.pick(CAUSES[mood]), r, hero, friend, thingName)}.`,
  );
  const shows = r
    .sample(FEELINGS[mood].shows, r.range(1, 2))
    .map((x) => x.replaceAll("{p}", hero.pro.poss).replaceAll("{s}", hero.pro.subj));
  s.push(`${cap(hero.pro.subj)} ${shows.join(" and ")}.`);
  if (r.chance(0.5)) s.push(`"${r.pick(FEELINGS[mood].lines)}" ${r.pick(["said", "cried", "whispered", "shouted"])} ${hero.name}.`);
  if (r.chance(0.3)) s.push(`${hero.name} felt very ${r.pick(FEELINGS[mood].words)}.`);
  return { text: paragraph(s), hero };
}

export const storyMood: Task = {
  name: "story-mood",
  description:
    "Classification with answer choices: a short story (3-7 sentences) and the question how its hero feels at the end — happy, sad, scared or angry. The mood shows through what happens and body language (crying, stomping, hiding, smiling); the mood word is named in under a third of the stories, and a quarter of them begin in another mood first. Labels are drawn uniformly at random.",
  make(r) {
    const label = r.int(MOODS.length);
    const { text, hero } = scene(r, MOODS[label]!);
    return {
      prompt: `Story: ${text}\nQuestion: How does ${hero.name} feel at the end?\nAnswer:`,
      choices: MOODS.map((m) => ` ${m}`),
      label,
    };
  },
};
