// Other kinds of text than stories: animal and class cards ("Key: value | Key: value"), quizzes
// (Q/A and Question/Answer lines), diaries in the present tense and recipes with numbered steps. They
// give the base model the punctuation and layouts that real text has (colons, bars, line-based formats)
// without teaching any bundled fine-tuning task itself.

import { a, cap, list } from "./grammar.ts";
import { ANIMALS } from "./lexicon-animals.ts";
import { BOYS, GIRLS, PET_NAMES } from "./lexicon-people.ts";
import { FOODS, PLACES, THINGS, inPresent } from "./lexicon-world.ts";
import type { CorpusRng } from "./rng.ts";

const key = (r: CorpusRng, k: string, lower: boolean) => (lower ? k.toLowerCase() : k);

function animalCard(r: CorpusRng): string {
  const x = r.pick(ANIMALS);
  const lower = r.chance(0.4);
  const fields: [string, string][] = [
    ["Animal", x.name],
    ["Sound", x.call],
    ["Home", x.home.replace(/^(in|on|by) /, "")],
    ["Food", list(x.eats)],
    ["Baby", x.baby],
    ["Looks", list(r.sample(x.looks, 2))],
  ];
  const picked = [fields[0]!, ...r.sample(fields.slice(1), r.range(2, 4))];
  const sep = r.chance(0.6) ? " | " : "\n";
  const title = r.pick(["Animal card", "Fact card", "Zoo sign", "My animal book"]);
  return `${title}\n${picked.map(([k, v]) => `${key(r, k, lower)}: ${v}`).join(sep)}`;
}

function classList(r: CorpusRng): string {
  const lower = r.chance(0.4);
  const rows: string[] = [];
  for (let i = 0; i < r.range(2, 4); i++) {
    const girl = r.chance(0.5);
    const name = r.pick(girl ? GIRLS : BOYS);
    const fields: [string, string][] = [
      ["Name", name],
      ["Age", r.pick(["four", "five", "six", "seven"])],
      ["Pet", `${a(r.pick(ANIMALS.filter((x) => x.pet)).name)} named ${r.pick(PET_NAMES)}`],
      ["Likes", r.pick(["drawing", "singing", "reading", "running", "blocks", "puzzles"])],
      ["Color", r.pick(["red", "blue", "green", "yellow", "purple"])],
    ];
    rows.push([fields[0]!, ...r.sample(fields.slice(1), r.range(1, 3))].map(([k, v]) => `${key(r, k, lower)}: ${v}`).join(" | "));
  }
  return `${r.pick(["Our class", "The friends club", "Who is who"])}\n${rows.join("\n")}`;
}

function quiz(r: CorpusRng): string {
  const long = r.chance(0.3);
  const [q, ans] = long ? ["Question", "Answer"] : ["Q", "A"];
  const lines: string[] = [r.pick(["Animal quiz", "Quiz time!", "Can you answer these?", "Questions for the class"])];
  for (const x of r.sample(ANIMALS, r.range(2, 4))) {
    const kind = r.int(4);
    const [question, answer] =
      kind === 0
        ? [`What does ${a(x.name)} say?`, `${x.call}!`]
        : kind === 1
          ? [`Where does ${a(x.name)} live?`, cap(x.home) + "."]
          : kind === 2
            ? [`What do ${x.plural} eat?`, `${cap(x.plural)} eat ${list(x.eats)}.`]
            : [`What is a baby ${x.name} called?`, `${cap(a(x.baby))}.`];
    lines.push(`${q}: ${question}`, `${ans}: ${answer}`);
  }
  return lines.join("\n");
}

function diary(r: CorpusRng): string {
  const p = r.pick(PLACES);
  const food = r.pick(FOODS);
  const s = [r.pick(["Dear diary,", "My diary", "Monday", "Saturday"])];
  s.push(`Today I go to ${p.name} with my ${r.pick(["mom", "dad", "grandma", "grandpa", "sister", "brother"])}.`);
  s.push(`I see ${list(r.sample(p.sees, 2))}.`);
  s.push(`We ${inPresent(r.pick(p.does))}.`);
  s.push(`For lunch I eat ${food.some}. It is ${r.pick(food.taste)}.`);
  s.push(r.pick(["I am happy today.", "I am tired now.", "It is a good day.", "I want to go again tomorrow."]));
  return `${s[0]}\n${s.slice(1).join(" ")}`;
}

const RECIPES = [
  {
    name: "Pancakes",
    needs: ["milk", "eggs", "flour"],
    steps: [
      "Mix the milk, eggs and flour in a bowl.",
      "Pour a little batter into a hot pan.",
      "Flip the pancake when it has bubbles.",
      "Eat it warm.",
    ],
  },
  {
    name: "Fruit salad",
    needs: ["an apple", "a banana", "some strawberries"],
    steps: ["Wash the fruit.", "Cut the fruit into small pieces.", "Put it all in a bowl and mix it.", "Share it with a friend."],
  },
  {
    name: "Cookies",
    needs: ["butter", "sugar", "flour", "an egg"],
    steps: [
      "Mix the butter and sugar.",
      "Add the egg and the flour.",
      "Roll the dough into little balls.",
      "Bake them until they are golden.",
    ],
  },
  {
    name: "A paper boat",
    needs: ["a sheet of paper"],
    steps: ["Fold the paper in half.", "Fold the corners down.", "Fold the edges up.", "Open it and put it on the water."],
  },
  {
    name: "A bird feeder",
    needs: ["an empty box", "some string", "seeds"],
    steps: ["Cut a hole in the box.", "Fill the box with seeds.", "Tie the string to the box.", "Hang it on a tree and watch the birds."],
  },
];

function recipe(r: CorpusRng): string {
  const x = r.pick(RECIPES);
  const lines = [x.name, `You need: ${list(x.needs)}.`];
  x.steps.forEach((s, i) => lines.push(r.chance(0.5) ? `Step ${i + 1}: ${s}` : `${i + 1}. ${s}`));
  return lines.join("\n");
}

function toyShop(r: CorpusRng): string {
  const rows = r
    .sample(THINGS, r.range(3, 5))
    .map((t) => `${cap(r.pick(t.looks))} ${t.name} | ${r.pick(["two", "three", "five", "ten"])} coins`);
  return `${r.pick(["Toy shop", "Price list", "Things for sale"])}\n${rows.join("\n")}`;
}

/** A document in one of the other registers. */
export function makeRegister(r: CorpusRng): string {
  const kind = r.weighted([3, 2, 3, 3, 1, 1]);
  return [animalCard, classList, quiz, diary, recipe, toyShop][kind]!(r);
}
