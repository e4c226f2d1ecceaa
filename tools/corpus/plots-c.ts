// Story plots, part three: a snow day, growing a plant, learning something hard, a missing pet and a
// talk at bedtime — more shapes so the model sees more than a handful of story skeletons.

import { a, list } from "./grammar.ts";
import { FEELINGS } from "./lexicon-people.ts";
import { FOODS, PLACES } from "./lexicon-world.ts";
import type { StoryCtx } from "./story-ctx.ts";

export function snowDay(s: StoryCtx): void {
  const { r, hero } = s;
  const field = PLACES.find((p) => p.name === "the snowy field")!;
  s.say(`One winter morning, ${s.subj(hero)} looked out of the window. Everything was white with snow!`);
  s.say(
    `${s.subj(hero)} put on ${hero.pro.poss} ${r.pick(["warm coat", "red boots", "woolly hat", "thick gloves"])} and ran outside with ${s.friendRef()}.`,
  );
  s.visited.push(field);
  s.place = field;
  const acts = r.sample(field.does, 2);
  s.say(`They ${acts[0]}, and then they ${acts[1]}.`);
  if (r.chance(0.7)) {
    s.say(`Their cheeks were red and their noses were cold, but they did not mind.`);
    s.say(`Later, they went inside and drank ${r.pick(["hot milk", "warm cocoa", "hot soup"])}.`);
    s.say(`${s.subj(hero)} ${s.shows(hero, "happy")}. Snow days were the best days.`);
    s.mood = "happy";
  } else {
    s.say(`Then ${s.friendRef()} threw a big snowball right at ${hero.name}'s face, and snow went down ${hero.pro.poss} neck.`);
    s.say(`${s.subj(hero)} was cold and wet. ${hero.pro.subj} ${s.shows(hero, "angry")}.`);
    s.speak(hero, r.pick(["Stop it! That was too hard!", "That is not funny!"]));
    s.mood = "angry";
  }
}

const SEEDS = [
  ["a sunflower seed", "a big yellow flower"],
  ["a bean", "long green beans"],
  ["a pumpkin seed", "a big orange pumpkin"],
  ["a tomato seed", "green leaves and red tomatoes"],
  ["a little acorn", "a tiny oak tree with green leaves"],
] as const;

export function growing(s: StoryCtx): void {
  const { r, hero, parent } = s;
  const [seed, grown] = r.pick(SEEDS);
  s.say(`${s.subj(parent)} gave ${hero.name} ${seed}.`);
  s.speak(s.parent, r.pick(["Plant it in the garden and take good care of it.", "If you give it water and sun, it will grow."]));
  s.say(`${s.subj(hero)} dug a little hole in the garden and put the seed inside.`);
  s.say(`Every day, ${hero.pro.subj} gave it water.`);
  s.newParagraph();
  s.say(
    `For many days, nothing happened. ${s.subj(hero)} ${r.pick(["waited and waited", "looked at the dirt every morning", "began to wonder if it would ever grow"])}.`,
  );
  if (r.chance(0.8)) {
    s.say(`Then one morning, ${hero.pro.subj} saw a tiny green shoot!`);
    s.say(`The plant grew taller and taller. Soon there was ${grown}.`);
    s.say(`${s.subj(hero)} ${s.shows(hero, "happy")}. ${hero.pro.subj} learned that good things take time.`);
    s.mood = "happy";
  } else {
    s.say(`Then a hungry ${r.pick(["rabbit", "goat", "snail"])} came into the garden and ate the little plant.`);
    s.say(`${s.subj(hero)} ${s.shows(hero, "sad")}. All that work, and now the plant was gone.`);
    s.mood = "sad";
  }
}

const SKILLS = [
  { skill: "ride a bike", tries: "fell over again and again", done: "rode all the way down the street" },
  { skill: "swim", tries: "splashed and sank and coughed", done: "swam across the pool" },
  { skill: "tie a bow", tries: "made knots that fell apart", done: "tied a perfect bow" },
  { skill: "climb the big tree", tries: "slipped down the trunk", done: "sat on the highest branch" },
  { skill: "whistle", tries: "only made a funny blowing sound", done: "whistled a little tune" },
  { skill: "fly", tries: "flapped and flapped but fell down", done: "flew high over the trees" },
];

export function learning(s: StoryCtx): void {
  const { r, hero } = s;
  const k = r.pick(SKILLS.filter((x) => (x.skill === "fly") === (hero.animal?.moved === "flew")));
  s.say(`${s.subj(hero)} wanted to learn to ${k.skill}.`);
  s.say(`${s.subj(hero)} tried, but ${hero.pro.subj} ${k.tries}.`);
  s.speak(hero, r.pick(["I will never learn!", "This is too hard!", "Why can everyone do it but me?"]));
  s.say(`${s.subj(hero)} ${s.shows(hero, r.chance(0.5) ? "sad" : "angry")}.`);
  s.newParagraph();
  if (r.chance(0.75)) {
    s.say(`${s.subj(s.friend)} said, "Do not give up. Try one more time."`);
    s.say(`So ${hero.name} tried again, and again, and again.`);
    s.say(`At last, ${hero.pro.subj} ${k.done}!`);
    s.say(`${s.subj(hero)} ${s.shows(hero, "happy")}. ${hero.pro.subj} was so ${r.pick(["proud", "happy", "glad"])}.`);
    s.mood = "happy";
  } else {
    s.say(`${s.subj(hero)} tried until the sun went down, but it did not work.`);
    s.say(`${hero.name} went home and ${s.shows(hero, "angry")}. ${hero.pro.subj} was still ${s.feelWord("angry")} at bedtime.`);
    s.mood = "angry";
  }
}

export function missingPet(s: StoryCtx): void {
  const { r, hero, pet, parent } = s;
  if (!s.petIntroduced) s.say(`${s.subj(hero)} had a pet ${pet.kind} named ${pet.name}.`);
  s.say(`One morning, ${pet.name} was not in ${pet.pro.poss} bed.`);
  s.speak(hero, r.pick([`${pet.name}! Where are you?`, `${s.address(parent)}, I cannot find ${pet.name}!`]));
  const spots = r.sample(
    ["under the bed", "in the garden", "behind the sofa", "in the closet", "by the front door", "in the laundry basket"],
    3,
  );
  s.say(`${s.subj(hero)} looked ${spots[0]} and ${spots[1]}, but ${pet.name} was not there.`);
  s.say(`${s.subj(hero)} ${s.shows(hero, r.chance(0.5) ? "scared" : "sad")}.`);
  s.newParagraph();
  if (r.chance(0.75)) {
    s.say(`Then ${hero.pro.subj} heard a little ${r.pick(["sound", "noise"])} ${spots[2]}.`);
    s.say(
      `It was ${pet.name}! ${pet.pro.subj[0]!.toUpperCase() + pet.pro.subj.slice(1)} was ${r.pick(["fast asleep", "playing with a sock", "eating a snack", "hiding from the vacuum"])}.`,
    );
    s.say(`${s.subj(hero)} picked ${pet.pro.obj} up and ${s.shows(hero, "happy")}.`);
    s.mood = "happy";
  } else {
    s.say(`${hero.name} and ${s.ref(parent)} made signs and put them up on every street.`);
    s.say(`But by night, ${pet.name} still had not come home. ${s.subj(hero)} ${s.shows(hero, "sad")}.`);
    s.mood = "sad";
  }
}

export function bedtimeTalk(s: StoryCtx): void {
  const { r, hero, parent } = s;
  const there = r.pick(PLACES);
  const food = r.pick(FOODS);
  s.say(`At bedtime, ${s.ref(parent)} sat on ${hero.name}'s bed.`);
  s.speak(s.parent, r.pick(["What did you do today?", "Tell me about your day.", "Did you have a good day?"]));
  s.visited.push(there);
  s.speak(hero, `I went to ${there.name}. I ${list(r.sample(there.does, 2))}.`);
  s.speak(hero, `And we ate ${food.some}. It was ${r.pick(food.taste)}.`);
  s.speak(s.parent, r.pick(["That sounds like a wonderful day.", "What a busy day you had!"]));
  s.say(
    `${s.subj(parent)} read ${hero.pro.obj} ${a(r.pick(["short story", "story about a brave knight", "book about the moon", "funny poem"]))}.`,
  );
  s.say(
    `${s.subj(hero)} yawned, closed ${hero.pro.poss} eyes and fell asleep. ${r.pick(FEELINGS.happy.shows).includes("hands") ? "It had been a good day." : "It had been a happy day."}`,
  );
  s.mood = "happy";
}
