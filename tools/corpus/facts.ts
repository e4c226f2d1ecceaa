// Factual and descriptive paragraphs: animals, places, seasons, weather, colors and simple science, all
// in plain present tense. They give the model sentences of another register than stories.

import { a, cap, list, paragraph } from "./grammar.ts";
import { ANIMALS, type Animal } from "./lexicon-animals.ts";
import { PLACES, SEASONS, WEATHER, inPresent } from "./lexicon-world.ts";
import type { CorpusRng } from "./rng.ts";

function animalFacts(r: CorpusRng, x: Animal): string {
  const first = r.pick([
    `${cap(x.plural)} are ${list(r.sample(x.looks, 2))} animals.`,
    `${cap(a(x.name))} is ${a(r.pick(x.looks))} animal.`,
    `Let us learn about ${x.plural}.`,
  ]);
  const rest = r.sample(x.facts, r.range(1, 3)).map((f) => `${cap(x.plural)} ${f}.`);
  rest.push(r.pick([`${cap(a(x.name))} lives ${x.home}.`, `Many ${x.plural} live ${x.home}.`]));
  rest.push(r.pick([`${cap(x.plural)} eat ${list(x.eats)}.`, `${cap(a(x.name))} likes to eat ${r.pick(x.eats)}.`]));
  if (x.baby !== "baby" && x.baby !== x.name) rest.push(`A baby ${x.name} is called ${a(x.baby)}.`);
  rest.push(r.pick([`When ${a(x.name)} talks, it says "${x.call}!"`, `${cap(a(x.name))} ${presentSound(x.sound)}.`]));
  return paragraph([first, ...r.shuffle(rest).slice(0, r.range(3, rest.length))]);
}

/** "barked" -> "barks", "buzzed" -> "buzzes", "sang" -> "sings" */
function presentSound(past: string): string {
  const irregular: Record<string, string> = { sang: "sings", yipped: "yips", hummed: "hums", baaed: "baas" };
  if (irregular[past]) return irregular[past];
  const stem = past.replace(/ed$/, "");
  return /(ss|sh|ch|zz)$/.test(stem) ? `${stem}es` : `${stem}s`;
}

function compareAnimals(r: CorpusRng): string {
  const [x, y] = r.sample(ANIMALS, 2) as [Animal, Animal];
  const out = [`${cap(x.plural)} and ${y.plural} are very different.`];
  out.push(`${cap(a(x.name))} says "${x.call}," but ${a(y.name)} says "${y.call}."`);
  out.push(`${cap(x.plural)} live ${x.home}, and ${y.plural} live ${y.home}.`);
  out.push(`${cap(x.plural)} eat ${r.pick(x.eats)}, and ${y.plural} eat ${r.pick(y.eats)}.`);
  return paragraph(out);
}

function placeText(r: CorpusRng): string {
  const p = r.pick(PLACES);
  const out = [`${cap(p.name)} is ${a(list(r.sample(p.looks, 2)))} place.`];
  out.push(`${cap(p.at)}, you can see ${list(r.sample(p.sees, r.range(2, 3)))}.`);
  const does = r.sample(p.does, 2).map((d) => inPresent(d));
  out.push(`People go there to ${list(does)}.`);
  return paragraph(out);
}

function seasonText(r: CorpusRng): string {
  const s = r.pick(SEASONS);
  const w = r.pick(WEATHER);
  const out = [`${cap(s.name)} is one of the four seasons.`, `In ${s.name}, ${list(r.sample(s.says, r.range(2, 3)))}.`];
  if (r.chance(0.5)) out.push(`After ${s.name} comes ${SEASONS[(SEASONS.indexOf(s) + 1) % 4]!.name}.`);
  if (r.chance(0.5)) out.push(`On ${a(w.adj)} day, ${r.pick(w.says).replace(/^\w/, (c) => c.toLowerCase())}`);
  return paragraph(out);
}

const SCIENCE = [
  ["Water is wet.", "When water gets very cold, it turns into ice.", "When ice gets warm, it melts and turns back into water."],
  [
    "Plants need sun and water to grow.",
    "A seed goes into the dirt.",
    "Soon a little green plant comes up.",
    "Then it grows leaves and flowers.",
  ],
  ["The sun rises in the morning.", "It goes down in the evening.", "At night, the moon and the stars come out."],
  ["Rain comes from clouds.", "When the clouds get heavy with water, the rain falls down.", "After the rain, you may see a rainbow."],
  [
    "A rainbow has many colors.",
    "It has red, orange, yellow, green, blue and purple.",
    "You can see a rainbow when the sun shines after the rain.",
  ],
  [
    "We have five senses.",
    "We see with our eyes and hear with our ears.",
    "We smell with our nose, taste with our tongue and feel with our hands.",
  ],
  ["Bees visit flowers.", "They take nectar back to the hive.", "In the hive, the bees make sweet honey."],
  ["A caterpillar eats many leaves.", "Then it makes a home called a cocoon.", "After a while, it comes out as a butterfly."],
  ["There are seven days in a week.", "Five of them are school days.", "On the weekend, many children play at home."],
];

function scienceText(r: CorpusRng): string {
  return paragraph(r.pick(SCIENCE));
}

const COLOR_OF = [
  ["grass", "green"],
  ["the sky", "blue"],
  ["snow", "white"],
  ["a banana", "yellow"],
  ["a strawberry", "red"],
  ["an orange", "orange"],
  ["the night", "dark"],
  ["a carrot", "orange"],
  ["a lemon", "yellow"],
  ["milk", "white"],
  ["a frog", "green"],
  ["a cherry", "red"],
] as const;

function colorText(r: CorpusRng): string {
  return paragraph(r.sample(COLOR_OF, r.range(3, 5)).map(([t, c]) => `${cap(t)} is ${c}.`));
}

/** A factual paragraph of a random kind. */
export function makeFacts(r: CorpusRng): string {
  const kind = r.weighted([5, 2, 3, 2, 2, 1]);
  if (kind === 0) return animalFacts(r, r.pick(ANIMALS));
  if (kind === 1) return compareAnimals(r);
  if (kind === 2) return placeText(r);
  if (kind === 3) return seasonText(r);
  if (kind === 4) return scienceText(r);
  return colorText(r);
}
