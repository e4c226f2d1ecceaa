// Story plots, part one: a lost thing, a new friend, a scary night, a quarrel over a toy, a day trip and
// helping an animal. Each plot writes its paragraphs into the StoryCtx and sets the hero's final mood.

import { a, list } from "./grammar.ts";
import { FOODS, PLACES } from "./lexicon-world.ts";
import type { StoryCtx } from "./story-ctx.ts";

export function lostThing(s: StoryCtx): void {
  const { r, hero, friend, thingName } = s;
  const there = s.place;
  s.say(`${s.go(hero, there, r.pick(["went", "ran", "walked"]))} with ${hero.pro.poss} ${thingName}.`);
  s.say(`${s.subj(hero)} ${r.pick(there.does)}, and ${hero.pro.subj} ${r.pick(s.thing.play)}.`);
  s.say(`When it was time to go home, ${s.subj(hero)} looked for ${hero.pro.poss} ${thingName}, but it was gone!`);
  s.say(`${s.subj(hero)} ${s.shows(hero, "sad")}.`);
  s.speak(hero, r.pick([`Where is my ${s.thing.name}?`, `I lost my ${s.thing.name}!`, `My ${s.thing.name} is gone!`]));
  s.newParagraph();
  s.say(`${s.subj(friend)} saw that ${hero.name} was ${s.feelWord("sad")}.`);
  s.speak(friend, r.pick(["Do not worry. I will help you look.", "Let us look for it together.", "We can find it if we look everywhere."]));
  const spots = r.sample(there.spots, 3);
  s.say(`They looked ${spots[0]}, but it was not there.`);
  if (r.chance(0.8)) {
    s.say(`Then ${s.subj(friend)} looked ${spots[1]}.`);
    s.speak(friend, r.pick(["I found it!", "Here it is!", "Look what I found!"]));
    s.say(`${s.subj(hero)} was so ${s.feelWord("happy")}. ${hero.pro.subj} ${s.shows(hero, "happy")}.`);
    s.speak(hero, r.pick([`Thank you, ${friend.name}! You are a good friend.`, `Thank you for helping me, ${friend.name}!`]));
    s.mood = "happy";
    s.newParagraph();
    s.say(`From that day on, ${s.subj(hero)} always kept ${hero.pro.poss} ${s.thing.name} close.`);
  } else {
    s.say(`They looked ${list(spots.slice(1))} too, but they could not find it anywhere.`);
    s.say(`The sun went down and they had to go home.`);
    s.say(`That night, ${s.subj(hero)} ${s.shows(hero, "sad")}. ${hero.pro.subj} missed ${hero.pro.poss} ${thingName} very much.`);
    s.mood = "sad";
  }
}

export function newFriend(s: StoryCtx): void {
  const { r, hero, friend } = s;
  const there = r.pick(PLACES.filter((p) => p.outdoor));
  s.say(`One ${s.weather.adj} ${r.pick(["morning", "day", "afternoon"])}, ${s.go(hero, there)}.`);
  s.say(`There ${hero.pro.subj} saw ${list(r.sample(there.sees, 2))}.`);
  s.say(`${s.subj(hero)} also saw ${s.intro(friend)}, sitting all alone.`);
  s.say(`${s.friendRef()} looked ${r.pick(["shy", "lonely", "a little sad"])}.`);
  s.newParagraph();
  s.speak(hero, r.pick(["Hello! What is your name?", "Hi! Do you want to play with me?", "Hello! Why are you all alone?"]));
  s.speak(
    friend,
    r.pick([
      `My name is ${friend.name}. I am new here.`,
      `I am ${friend.name}. I do not have anyone to play with.`,
      `I am ${friend.name}. Can I play with you?`,
    ]),
  );
  s.speak(hero, r.pick(["You can play with me!", "Let us be friends!", "Come on, let us play together!"]));
  const acts = r.sample(there.does, 2);
  s.say(`So ${hero.name} and ${s.friendRef()} ${acts[0]}. Then they ${acts[1]}.`);
  s.say(`They laughed and played until the sun went down.`);
  s.newParagraph();
  s.say(`${s.subj(hero)} ${s.shows(hero, "happy")}. ${hero.pro.subj} had a new friend.`);
  s.say(
    r.pick([
      `From that day on, ${hero.name} and ${friend.name} played together every day.`,
      `${hero.name} learned that it is good to be kind to someone new.`,
    ]),
  );
  s.mood = "happy";
}

const NOISES = [
  { what: "a loud bang", cause: "the wind had pushed a door shut" },
  { what: "a scratching sound at the window", cause: "a branch was rubbing on the glass" },
  { what: "a soft thump under the bed", cause: "PET was playing with a sock" },
  { what: "a strange shadow on the wall", cause: "it was only the shadow of a coat on a hook" },
  { what: "a creaking sound in the hall", cause: "PET was walking on the old floor" },
  { what: "a big boom of thunder", cause: "it was only a storm far away" },
];

export function scaryNight(s: StoryCtx): void {
  const { r, hero, parent, pet } = s;
  const noise = r.pick(NOISES);
  s.say(`One dark night, ${s.subj(hero)} was in bed.`);
  s.say(`The room was quiet and the moon was hiding behind the clouds.`);
  s.say(`Suddenly, ${s.subj(hero)} heard ${noise.what}!`);
  s.say(`${s.subj(hero)} ${s.shows(hero, "scared")}.`);
  s.speak(hero, r.pick(["What was that?", "Is someone there?", `${s.address(parent)}! Help!`]));
  s.newParagraph();
  if (r.chance(0.75)) {
    s.say(`${s.subj(parent)} came in and turned on the light.`);
    s.say(`They looked around the room together, and soon they saw that ${noise.cause.replace("PET", `${pet.name} the ${pet.kind}`)}.`);
    s.speak(parent, r.pick(["See? There is nothing to be afraid of.", "It is all right. You are safe.", "Nothing here can hurt you."]));
    s.say(`${s.subj(hero)} laughed. ${hero.pro.subj} was not ${s.feelWord("scared")} anymore.`);
    s.say(
      `${s.subj(parent)} gave ${hero.pro.obj} a hug, and ${hero.name} ${r.pick(["fell asleep with a smile", "slept well until morning", "snuggled back under the blanket, calm and happy"])}.`,
    );
    s.mood = "happy";
  } else {
    s.say(`Nobody came. The sound came again, louder this time.`);
    s.say(`${s.subj(hero)} pulled the blanket over ${hero.pro.poss} head and ${s.shows(hero, "scared")}.`);
    s.say(`${hero.name} stayed awake and ${s.feelWord("scared")} for a long, long time.`);
    s.mood = "scared";
  }
}

export function quarrel(s: StoryCtx): void {
  const { r, hero, friend, parent, thingName } = s;
  s.place = r.pick(PLACES.filter((p) => p.outdoor || p.name === "the school"));
  s.say(`${s.subj(hero)} and ${s.friendRef()} were playing ${s.place.at}.`);
  s.say(`${hero.name} had ${a(thingName)}, and ${s.friendRef()} wanted it too.`);
  s.speak(friend, r.pick([`Can I have the ${s.thing.name}?`, `Give me the ${s.thing.name}!`, `It is my turn!`]));
  s.speak(hero, r.pick(["No, it is mine!", "I am not done yet!", "You cannot have it!"]));
  s.say(`They both pulled on the ${s.thing.name}.`);
  const end = r.weighted([3, 1, 1]);
  if (end === 0) {
    s.say(`${s.subj(hero)} ${s.shows(hero, "angry")}.`);
    s.newParagraph();
    s.say(`Then ${s.subj(parent)} came over.`);
    s.speak(parent, r.pick(["Why do you not take turns?", "If you share, you can both have fun.", "Friends share their toys."]));
    s.say(`${hero.name} thought about it. ${hero.pro.subj} gave the ${s.thing.name} to ${s.friendRef()} first.`);
    s.say(`Then they ${r.pick(s.thing.play)} together, and it was much more fun.`);
    s.say(`${s.subj(hero)} ${s.shows(hero, "happy")}. ${hero.pro.subj} learned that sharing makes everyone happy.`);
    s.mood = "happy";
  } else if (end === 1) {
    s.say(`Snap! The ${s.thing.name} broke in two.`);
    s.say(`${s.subj(hero)} looked at the pieces and ${s.shows(hero, "sad")}.`);
    s.speak(hero, r.pick(["Now nobody can play with it.", "My favorite toy is broken.", `I should have shared, ${friend.name}.`]));
    s.say(`${hero.name} was ${s.feelWord("sad")} for the rest of the day.`);
    s.mood = "sad";
  } else {
    s.say(`${s.friendRef()} pulled hard, grabbed the ${s.thing.name} and ran away with it.`);
    s.speak(hero, r.pick(FEEL_ANGRY));
    s.say(`${s.subj(hero)} ${s.shows(hero, "angry")}. ${hero.pro.subj} was very ${s.feelWord("angry")} with ${s.friendRef()}.`);
    s.mood = "angry";
  }
}
const FEEL_ANGRY = ["Give it back!", "That is not fair!", "Come back here!"];

export function dayTrip(s: StoryCtx): void {
  const { r, hero, parent } = s;
  const there = r.pick(PLACES.filter((p) => p.name !== "the kitchen"));
  const how = r.pick(["by car", "on the bus", "on foot", "by train", "on their bikes"]);
  s.say(`One ${s.weather.adj} ${r.pick(["morning", "day"])}, ${s.ref(parent)} said, "Today we are going to ${there.name}!"`);
  s.say(
    `${s.subj(hero)} was so ${r.pick(["excited", "happy", "glad"])}. ${hero.pro.subj} ${r.pick(["put on a hat", "packed a little bag", "ran to the door"])}.`,
  );
  s.say(`They went ${how}.`);
  s.visited.push(there);
  s.place = there;
  s.newParagraph();
  s.say(`${cap1(there.at)}, ${hero.name} saw ${list(r.sample(there.sees, 2))}.`);
  const acts = r.sample(there.does, 3);
  s.say(`First, ${hero.name} ${acts[0]}. Then ${hero.pro.subj} ${acts[1]}.`);
  if (r.chance(0.6)) s.say(`After that, ${hero.pro.subj} ${acts[2]}.`);
  const food = r.pick(FOODS);
  s.say(`For lunch, they ate ${food.some}. It was ${r.pick(food.taste)}.`);
  s.speak(hero, r.pick(FEEL_HAPPY_LINES));
  s.newParagraph();
  s.say(`When they got home, ${s.subj(hero)} was tired but very ${s.feelWord("happy")}.`);
  s.say(
    r.pick([
      `${hero.name} told ${hero.pro.poss} friends all about ${there.name}.`,
      `That night, ${hero.name} dreamed about ${there.name}.`,
      `${hero.name} wanted to go back to ${there.name} soon.`,
    ]),
  );
  s.mood = "happy";
}
const FEEL_HAPPY_LINES = ["This is the best day ever!", "I love this place!", "Can we come again?", "Thank you for bringing me here!"];
const cap1 = (x: string): string => x[0]!.toUpperCase() + x.slice(1);

const TROUBLE = [
  { who: "a little bird", where: "had fallen out of its nest", fix: "put it back in the nest" },
  { who: "a kitten", where: "was stuck high up in a tree", fix: "helped it climb down" },
  { who: "a baby duck", where: "was stuck in the mud", fix: "pulled it out of the mud" },
  { who: "a small turtle", where: "was lying on its back", fix: "turned it over" },
  { who: "a puppy", where: "was lost and crying", fix: "took it back to its home" },
  { who: "a tiny mouse", where: "was trapped in a box", fix: "opened the box and let it out" },
];

export function helping(s: StoryCtx): void {
  const { r, hero, friend } = s;
  const t = r.pick(TROUBLE);
  const there = r.pick(PLACES.filter((p) => p.outdoor));
  s.say(`${s.go(hero, there, r.pick(["went", "walked"]))} with ${s.friendRef()}.`);
  s.say(`Suddenly, they heard a small cry. ${cap1(t.who)} ${t.where}!`);
  s.speak(friend, r.pick(["Oh no! What can we do?", "Poor little thing!", "We have to help it!"]));
  s.speak(hero, r.pick(["I have an idea.", "Do not worry. We can help.", "Let us help it together."]));
  s.newParagraph();
  s.say(`${s.subj(hero)} and ${s.friendRef()} worked together, and they ${t.fix}.`);
  s.say(`${cap1(t.who.replace(/^a /, "the "))} looked up at them. It seemed to say thank you.`);
  s.say(`${s.subj(hero)} ${s.shows(hero, "happy")}. ${hero.pro.subj} felt ${r.pick(["proud", "warm inside", "very happy"])}.`);
  s.say(r.pick(["Helping others feels good.", `${hero.name} learned that even small friends need help sometimes.`]));
  s.mood = "happy";
}
