// The hyperparameter sweep's datasets, written to a work directory: small sets (32–1000 examples) of tasks
// that are not the T-Few study's (so the defaults are not chosen on the study's test files), each with a
// held-out file of its own seed stream: `facts` (12 invented facts, 8 phrasings each — the shape),
// `past-tense` at several sizes, and a small `story-mood` set drawn from a seed stream of its own.

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CorpusRng, hashSeed } from "../corpus/rng.ts";
import { pastTense } from "../tasks/past-tense.ts";
import { storyMood } from "../tasks/story-mood.ts";
import { type Example, type Task, generateSplit, toJsonl } from "../tasks/task.ts";

export interface SweepDataset {
  name: string;
  kind: "generation" | "choice";
  trainPath: string;
  heldOutPath: string;
  trainExamples: number;
  heldOutExamples: number;
}

const SEED = 13;

/** Question templates per kind of fact: the first 8 are trained on, the last 2 held out. */
const TEMPLATES: Record<"color" | "pet" | "place" | "food", string[]> = {
  color: [
    "Q: What is {n}'s favorite color?\nA:",
    "Question: Which color does {n} like best?\nAnswer:",
    "{n} likes one color most. Which one?\nAnswer:",
    "Q: Name {n}'s favorite color.\nA:",
    "Tell me the color {n} loves.\nAnswer:",
    "Q: {n} loves which color?\nA:",
    "Question: What color is {n}'s favorite?\nAnswer:",
    "Q: If you ask {n} for a color, what does {n} say?\nA:",
    "Q: Which color is the favorite of {n}?\nA:",
    "Question: {n}'s best-loved color is what?\nAnswer:",
  ],
  pet: [
    "Q: What pet does {n} have?\nA:",
    "Question: Which animal lives with {n}?\nAnswer:",
    "{n} has a pet at home. What is it?\nAnswer:",
    "Q: Name the animal {n} keeps.\nA:",
    "Tell me what pet {n} has.\nAnswer:",
    "Q: {n}'s pet is which animal?\nA:",
    "Question: What animal does {n} feed every day?\nAnswer:",
    "Q: What kind of pet is {n}'s?\nA:",
    "Q: Which pet belongs to {n}?\nA:",
    "Question: The animal {n} takes care of is what?\nAnswer:",
  ],
  place: [
    "Q: Where does {n} go every morning?\nA:",
    "Question: Which place does {n} visit each morning?\nAnswer:",
    "{n} goes somewhere every morning. Where?\nAnswer:",
    "Q: Name the place {n} goes to in the morning.\nA:",
    "Tell me where {n} walks each morning.\nAnswer:",
    "Q: Every morning {n} is where?\nA:",
    "Question: Where is {n} found each morning?\nAnswer:",
    "Q: In the morning, where can you see {n}?\nA:",
    "Q: Which place does {n} go to every morning?\nA:",
    "Question: Each morning {n} goes to what place?\nAnswer:",
  ],
  food: [
    "Q: What does {n} eat for lunch?\nA:",
    "Question: Which food does {n} have at lunch?\nAnswer:",
    "{n} eats the same lunch every day. What is it?\nAnswer:",
    "Q: Name {n}'s lunch.\nA:",
    "Tell me what {n} eats at noon.\nAnswer:",
    "Q: {n}'s lunch is what food?\nA:",
    "Question: What is on {n}'s plate at lunch?\nAnswer:",
    "Q: At lunch, what does {n} eat?\nA:",
    "Q: What food does {n} eat at lunch time?\nA:",
    "Question: For lunch {n} always eats what?\nAnswer:",
  ],
};

const NAMES = ["Tova", "Brix", "Quill", "Marnie", "Oskar", "Pell", "Junie", "Corvin", "Lisbet", "Dov", "Yara", "Fenn"];
const ANSWERS: Record<keyof typeof TEMPLATES, string[]> = {
  color: ["green", "purple", "orange", "blue", "yellow", "red"],
  pet: ["a goat", "a turtle", "a parrot", "a rabbit", "a hamster", "a pony"],
  place: ["the library", "the bakery", "the farm", "the pond", "the market", "the beach"],
  food: ["soup", "noodles", "pancakes", "rice", "apples", "carrots"],
};

/** 12 facts (one per invented name), 8 trained phrasings each (96) and 2 held-out ones (24). */
export function factsTask(): { train: Example[]; heldOut: Example[] } {
  const r = new CorpusRng(hashSeed("sprig-sweep", SEED, "facts"));
  const kinds = Object.keys(TEMPLATES) as Array<keyof typeof TEMPLATES>;
  const train: Example[] = [];
  const heldOut: Example[] = [];
  for (const [i, n] of NAMES.entries()) {
    const kind = kinds[i % kinds.length]!;
    const answer = ` ${r.pick(ANSWERS[kind])}`;
    for (const [j, t] of TEMPLATES[kind].entries()) (j < 8 ? train : heldOut).push({ prompt: t.replaceAll("{n}", n), completion: answer });
  }
  return { train: r.shuffle(train), heldOut };
}

/** `n` train and `held` held-out examples of a task generator, from the sweep's own seed stream. */
function fromTask(task: Task, n: number, held: number): { train: Example[]; heldOut: Example[] } {
  const train = generateSplit(task, "sweep-train", n, new Set(), SEED);
  return { train, heldOut: generateSplit(task, "sweep-held-out", held, new Set(train.map((e) => e.prompt)), SEED) };
}

/** The datasets by name; sizes in the name. */
export const SWEEP_DATASETS: Record<string, () => { train: Example[]; heldOut: Example[]; kind: SweepDataset["kind"] }> = {
  "facts-96": () => ({ ...factsTask(), kind: "generation" }),
  "past-tense-32": () => ({ ...fromTask(pastTense, 32, 100), kind: "generation" }),
  "past-tense-250": () => ({ ...fromTask(pastTense, 250, 100), kind: "generation" }),
  "past-tense-1000": () => ({ ...fromTask(pastTense, 1000, 100), kind: "generation" }),
  "story-mood-96": () => ({ ...fromTask(storyMood, 96, 100), kind: "choice" }),
};

export async function writeSweepDataset(name: string, dir: string): Promise<SweepDataset> {
  const make = SWEEP_DATASETS[name];
  if (!make) throw new Error(`unknown sweep dataset ${name} (have: ${Object.keys(SWEEP_DATASETS).join(", ")})`);
  const d = make();
  const trainPath = join(dir, `${name}.train.jsonl`);
  const heldOutPath = join(dir, `${name}.held-out.jsonl`);
  await writeFile(trainPath, toJsonl(d.train));
  await writeFile(heldOutPath, toJsonl(d.heldOut));
  return { name, kind: d.kind, trainPath, heldOutPath, trainExamples: d.train.length, heldOutExamples: d.heldOut.length };
}
