// Story plots, part two: baking, spoiled plans, a race, a broken toy, teasing, a birthday and getting lost.
// Endings vary (happy, sad, scared, angry) so that a story's mood is something a model has to read.

import { a, list } from "./grammar.ts";
import { FEELINGS } from "./lexicon-people.ts";
import { FOODS, PLACES, THINGS } from "./lexicon-world.ts";
import type { StoryCtx } from "./story-ctx.ts";

const BAKES = [
  { what: "a cake", steps: ["mixed flour, eggs and sugar in a big bowl", "poured the batter into a pan", "put the pan in the warm oven"] },
  { what: "cookies", steps: ["mixed the butter and sugar", "rolled the dough into little balls", "put them on a tray in the oven"] },
  { what: "bread", steps: ["mixed flour and water", "pressed the dough with their hands", "let it rise and then baked it"] },
  { what: "a pie", steps: ["cut up some apples", "made a soft crust", "put the pie in the hot oven"] },
  { what: "pancakes", steps: ["mixed milk, eggs and flour", "poured the batter into a hot pan", "flipped each pancake high in the air"] },
];

export function baking(s: StoryCtx): void {
  const { r, hero, parent, friend } = s;
  const bake = r.pick(BAKES);
  s.say(
    `One ${r.pick(["rainy", "cold", "quiet"])} ${r.pick(["morning", "afternoon"])}, ${s.subj(hero)} and ${s.ref(parent)} decided to make ${bake.what}.`,
  );
  s.say(`They washed their hands in the kitchen.`);
  s.say(`First they ${bake.steps[0]}. Then they ${bake.steps[1]}. At last they ${bake.steps[2]}.`);
  if (r.chance(0.4)) {
    s.say(`Oops! ${s.subj(hero)} spilled some flour, and it went all over ${hero.pro.poss} nose.`);
    s.say(`${s.ref(parent)} laughed, and ${hero.name} laughed too.`);
  }
  s.newParagraph();
  s.say(`Soon the kitchen smelled ${r.pick(["sweet", "warm and yummy", "wonderful"])}.`);
  if (r.chance(0.8)) {
    s.say(`${s.subj(hero)} shared ${bake.what === "a cake" || bake.what === "a pie" ? "a piece" : "some"} with ${s.friendRef()}.`);
    s.speak(friend, r.pick(["This is so good!", "Yum! You are a great baker!", "Can I have some more?"]));
    s.say(`${s.subj(hero)} ${s.shows(hero, "happy")}.`);
    s.mood = "happy";
  } else {
    s.say(`But they forgot about the oven, and it all burned! Black smoke came out.`);
    s.say(`${s.subj(hero)} ${s.shows(hero, "sad")}.`);
    s.speak(hero, r.pick(["All our hard work is gone.", "Now we have nothing to eat."]));
    s.mood = "sad";
  }
}

export function spoiledPlan(s: StoryCtx): void {
  const { r, hero, parent } = s;
  const there = r.pick(PLACES.filter((p) => p.outdoor && p.name !== "the snowy field"));
  s.say(`${s.subj(hero)} and ${s.ref(parent)} wanted to have a picnic ${there.at}.`);
  s.say(`They packed ${list(r.sample(FOODS, 3).map((f) => f.some))} in a basket.`);
  s.say(`But when they opened the door, ${r.pick(["big drops of rain were falling", "a storm was coming", "the rain was pouring down"])}.`);
  s.speak(hero, r.pick(["Oh no! Now we cannot go!", "The rain ruined everything!", "Why does it have to rain today?"]));
  s.say(`${s.subj(hero)} ${s.shows(hero, r.chance(0.5) ? "sad" : "angry")}.`);
  s.newParagraph();
  const end = r.weighted([3, 1, 1]);
  if (end === 0) {
    s.speak(
      s.parent,
      r.pick(["We can have a picnic inside!", "Let us put a blanket on the floor and eat here.", "The rain cannot stop our fun."]),
    );
    s.say(`So they spread a blanket on the floor and ate their picnic at home.`);
    s.say(`Later, the rain stopped and a bright rainbow came out.`);
    s.say(`${s.subj(hero)} ${s.shows(hero, "happy")}. It was a good day after all.`);
    s.mood = "happy";
  } else if (end === 1) {
    s.say(`The rain did not stop all day.`);
    s.say(`${s.subj(hero)} sat by the window and watched the rain. ${hero.pro.subj} ${s.shows(hero, "sad")}.`);
    s.mood = "sad";
  } else {
    s.say(`The rain did not stop, and the picnic was spoiled.`);
    s.say(`${s.subj(hero)} ${s.shows(hero, "angry")}. ${hero.pro.subj} was ${s.feelWord("angry")} at the rain all day.`);
    s.mood = "angry";
  }
}

export function race(s: StoryCtx): void {
  const { r, hero, friend } = s;
  const goal = r.pick(["the big tree", "the old fence", "the top of the hill", "the river", "the red barn"]);
  s.say(`${s.subj(hero)} and ${s.friendRef()} wanted to have a race to ${goal}.`);
  s.speak(hero, r.pick(["I am the fastest! I will win!", "You cannot beat me!", "Ready, set, go!"]));
  s.say(`They ran as fast as they could.`);
  const end = r.weighted([2, 1, 1]);
  if (end === 0) {
    s.say(`${s.subj(hero)} was far ahead, so ${hero.pro.subj} stopped to rest and fell asleep.`);
    s.say(`${s.friendRef()} kept going, slow and steady, and won the race.`);
    s.say(`When ${hero.name} woke up, ${hero.pro.subj} ${s.shows(hero, "angry")}.`);
    s.speak(hero, r.pick(["That is not fair!", "I should have won!"]));
    s.mood = "angry";
  } else if (end === 1) {
    s.say(`${s.subj(hero)} tripped over a rock and hurt ${hero.pro.poss} knee.`);
    s.say(`${s.friendRef()} stopped and came back to help.`);
    s.speak(friend, r.pick(["Are you all right?", "Let me help you up."]));
    s.say(`They walked to ${goal} together, side by side. ${s.subj(hero)} ${s.shows(hero, "happy")}.`);
    s.say(`${hero.name} learned that a friend is better than a prize.`);
    s.mood = "happy";
  } else {
    s.say(`${s.subj(hero)} ran and ran, and got to ${goal} first!`);
    s.say(`${hero.pro.subj} ${s.shows(hero, "happy")}.`);
    s.speak(friend, r.pick(["Good race! You are very fast.", "You won! Let us race again tomorrow."]));
    s.mood = "happy";
  }
}

export function brokenThing(s: StoryCtx): void {
  const { r, hero, parent, thingName } = s;
  s.say(`${s.subj(hero)} had ${a(thingName)}. It was ${hero.pro.poss} favorite.`);
  s.say(`Every day, ${hero.pro.subj} ${r.pick(s.thing.play)}.`);
  s.say(
    `One day, ${hero.pro.subj} dropped it ${r.pick(["on the hard floor", "down the stairs", "in a puddle", "on a rock"])}, and it broke.`,
  );
  s.say(`${s.subj(hero)} ${s.shows(hero, "sad")}.`);
  s.speak(hero, r.pick(FEELINGS.sad.lines));
  s.newParagraph();
  if (r.chance(0.7)) {
    s.say(`${s.subj(parent)} saw ${hero.name} and came to help.`);
    s.speak(parent, r.pick(["Let me see. I think I can fix it.", "Do not cry. We can fix it together."]));
    s.say(`They fixed the ${s.thing.name} with ${r.pick(["some glue", "tape and string", "a little hammer"])}. It was as good as new.`);
    s.say(`${s.subj(hero)} ${s.shows(hero, "happy")}. ${hero.pro.subj} was ${s.feelWord("happy")} again.`);
    s.mood = "happy";
  } else {
    s.say(`${s.subj(parent)} tried to fix it, but it was broken for good.`);
    s.say(`${hero.name} put the pieces in a box. ${hero.pro.subj} was ${s.feelWord("sad")} for a long time.`);
    s.mood = "sad";
  }
}

export function teasing(s: StoryCtx): void {
  const { r, hero, friend } = s;
  const bully = r.pick(["a big boy named Rex", "a rude girl named Gina", "a noisy crow", "a grumpy goose"]);
  const bname = bully.replace(/^.* named /, "").replace(/^a /, "the ");
  const hat = r.pick(THINGS.filter((t) => ["hat", "scarf", "ball", "kite", "book", "balloon"].includes(t.name)));
  s.say(`${s.subj(hero)} was ${s.place.at} with ${hero.pro.poss} new ${hat.name}.`);
  s.say(`Then ${bully} came by. ${bname[0]!.toUpperCase() + bname.slice(1)} took the ${hat.name} and laughed.`);
  s.speak(hero, r.pick(FEELINGS.angry.lines));
  s.say(`${s.subj(hero)} ${s.shows(hero, "angry")}.`);
  s.newParagraph();
  if (r.chance(0.5)) {
    s.say(`${s.friendRef()} saw what happened and came over.`);
    s.speak(friend, r.pick([`That is not nice. Give it back to ${hero.name}.`, "Stop that! It is not yours."]));
    s.say(`${bname[0]!.toUpperCase() + bname.slice(1)} dropped the ${hat.name} and walked away.`);
    s.say(`${s.subj(hero)} thanked ${s.friendRef()} and ${s.shows(hero, "happy")}.`);
    s.mood = "happy";
  } else {
    s.say(`${bname[0]!.toUpperCase() + bname.slice(1)} ran off with the ${hat.name}, laughing.`);
    s.say(`${s.subj(hero)} ${s.shows(hero, "angry")}. ${hero.pro.subj} was ${s.feelWord("angry")} all the way home.`);
    s.mood = "angry";
  }
}

export function birthday(s: StoryCtx): void {
  const { r, hero, parent, thingName } = s;
  const age = r.pick(["four", "five", "six", "seven"]);
  s.say(`Today was ${hero.name}'s birthday. ${hero.pro.subj} was ${age} years old!`);
  s.say(`${s.ref(parent)} made a big cake with ${age} candles.`);
  s.say(`${s.friendRef()} and other friends came to the party. They sang a happy birthday song.`);
  s.say(`${s.subj(hero)} made a wish and blew out all the candles.`);
  s.newParagraph();
  s.say(`Then ${s.friendRef()} gave ${hero.pro.obj} a present. Inside was ${a(thingName)}!`);
  s.speak(hero, r.pick(FEELINGS.happy.lines));
  s.say(`${s.subj(hero)} ${s.shows(hero, "happy")}. It was the best birthday ever.`);
  s.mood = "happy";
}

export function gettingLost(s: StoryCtx): void {
  const { r, hero, parent } = s;
  const there = r.pick(PLACES.filter((p) => ["the forest", "the market", "the zoo", "the beach", "the farm"].includes(p.name)));
  s.say(`${s.go(hero, there)} with ${s.ref(parent)}.`);
  s.say(`${s.subj(hero)} saw ${r.pick(there.sees)} and ran to look.`);
  s.say(`When ${hero.pro.subj} turned around, ${s.ref(parent)} was gone!`);
  s.say(`${s.subj(hero)} ${s.shows(hero, "scared")}.`);
  s.speak(hero, r.pick([`${s.address(parent)}! Where are you?`, "I am lost!", "Help! I cannot find my way!"]));
  s.newParagraph();
  if (r.chance(0.7)) {
    s.say(`${s.subj(hero)} remembered what to do. ${hero.pro.subj} stayed in one place and called out loudly.`);
    s.say(`Soon ${s.ref(parent)} came running.`);
    s.speak(s.parent, r.pick(["There you are! I was so worried.", "I found you! Stay close to me."]));
    s.say(`${s.subj(hero)} hugged ${hero.pro.poss} ${s.parent.relative.name} and ${s.shows(hero, "happy")}.`);
    s.mood = "happy";
  } else {
    s.say(`${s.subj(hero)} walked one way and then the other, but everything looked strange.`);
    s.say(`It was getting dark. ${hero.name} sat down and ${s.shows(hero, "scared")}.`);
    s.mood = "scared";
  }
}
