// One short story: an opening that introduces the hero, one plot, and what is known about it afterwards
// (hero, final mood, places visited) so task generators can ask questions about the text.

import { a } from "./grammar.ts";
import type { Mood } from "./lexicon-people.ts";
import { baking, birthday, brokenThing, gettingLost, race, spoiledPlan, teasing } from "./plots-b.ts";
import { bedtimeTalk, growing, learning, missingPet, snowDay } from "./plots-c.ts";
import { dayTrip, helping, lostThing, newFriend, quarrel, scaryNight } from "./plots-a.ts";
import type { CorpusRng } from "./rng.ts";
import { StoryCtx } from "./story-ctx.ts";

export interface Story {
  text: string;
  plot: string;
  hero: string;
  friend: string;
  mood: Mood;
  places: string[];
}

/** Plots with relative weights: the common TinyStories shapes more often, the rest for variety. */
const PLOTS: [string, (s: StoryCtx) => void, number][] = [
  ["lost-thing", lostThing, 3],
  ["new-friend", newFriend, 3],
  ["scary-night", scaryNight, 2],
  ["quarrel", quarrel, 3],
  ["day-trip", dayTrip, 3],
  ["helping", helping, 2],
  ["baking", baking, 2],
  ["spoiled-plan", spoiledPlan, 2],
  ["race", race, 2],
  ["broken-thing", brokenThing, 2],
  ["teasing", teasing, 2],
  ["birthday", birthday, 1],
  ["getting-lost", gettingLost, 2],
  ["snow-day", snowDay, 2],
  ["growing", growing, 2],
  ["learning", learning, 2],
  ["missing-pet", missingPet, 2],
  ["bedtime-talk", bedtimeTalk, 2],
];

const LIKES_CHILD = [
  "to play outside",
  "to sing songs",
  "to draw pictures",
  "to read books",
  "to run and jump",
  "to help at home",
  "to look at the stars",
  "to build things with blocks",
];

function opening(s: StoryCtx): void {
  const { r, hero } = s;
  const style = r.int(5);
  if (style === 0) s.say(`Once upon a time, there was ${s.intro(hero)}.`);
  else if (style === 1)
    s.say(
      `There once was ${s.intro(hero)} who lived ${hero.animal ? hero.animal.home : r.pick(["in a small house", "in a big town", "near the woods", "by the sea"])}.`,
    );
  else if (style === 2) s.say(`${hero.name} was ${a(`${r.pick(["little", "young", "happy", "busy"])} ${hero.kind}`)}.`);
  else if (style === 3) s.say(`Once there was ${s.intro(hero)}.`);
  else
    s.say(
      `${hero.name} was ${a(hero.kind)} who lived ${hero.animal ? hero.animal.home : "with " + hero.pro.poss + " " + s.parent.relative.name}.`,
    );
  const extra = r.int(4);
  if (extra === 0)
    s.say(
      `${s.subj(hero)} loved ${hero.animal ? r.pick(["to play with friends", `to eat ${r.pick(hero.animal.eats)}`, "to explore"]) : r.pick(LIKES_CHILD)}.`,
    );
  else if (extra === 1 && !hero.animal) {
    s.say(`${s.subj(hero)} had a pet ${s.pet.kind} named ${s.pet.name}.`);
    s.petIntroduced = true;
  } else if (extra === 2) s.say(r.pick(s.weather.says));
}

/** A story from the rng's current state. */
export function makeStory(r: CorpusRng): Story {
  const s = new StoryCtx(r);
  opening(s);
  const [plot, write] = PLOTS[r.weighted(PLOTS.map((p) => p[2]))]!;
  if (r.chance(0.5)) s.newParagraph();
  write(s);
  return { text: s.text(), plot, hero: s.hero.name, friend: s.friend.name, mood: s.mood, places: s.visited.map((p) => p.name) };
}
