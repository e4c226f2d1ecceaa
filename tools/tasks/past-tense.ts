// past-tense (format transformation): two or three present-tense sentences → the same sentences in the
// past tense. Only the verbs change (irregular ones included: runs → ran, sees → saw), so the model must
// copy everything else exactly.

import { a, cap, list } from "../corpus/grammar.ts";
import { ANIMALS } from "../corpus/lexicon-animals.ts";
import { FOODS, PLACES, THINGS } from "../corpus/lexicon-world.ts";
import type { CorpusRng } from "../corpus/rng.ts";
import { type Character, makeAnimal, makeChild } from "../corpus/story-ctx.ts";
import type { Task } from "./task.ts";

/** [singular present, plural present, past, object maker] */
type Verb = [string, string, string, (r: CorpusRng, c: Character) => string];

const place = (r: CorpusRng) => r.pick(PLACES).name;
const animal = (r: CorpusRng) => a(`${r.pick(["big", "little", "funny", "sleepy", "happy"])} ${r.pick(ANIMALS).name}`);
const thing = (r: CorpusRng, c: Character) => `${c.pro.poss} ${r.pick(THINGS).name}`;

const VERBS: Verb[] = [
  ["runs to", "run to", "ran to", place],
  ["goes to", "go to", "went to", place],
  ["walks to", "walk to", "walked to", place],
  ["sees", "see", "saw", animal],
  ["finds", "find", "found", animal],
  ["eats", "eat", "ate", (r) => r.pick(FOODS).some],
  ["plays with", "play with", "played with", thing],
  ["loses", "lose", "lost", thing],
  ["holds", "hold", "held", thing],
  ["brings", "bring", "brought", thing],
  ["sings", "sing", "sang", () => "a song"],
  ["draws", "draw", "drew", (r) => `a picture of ${animal(r)}`],
  ["reads", "read", "read", () => "a book"],
  ["writes", "write", "wrote", () => "a letter"],
  ["makes", "make", "made", (r) => r.pick(["a cake", "a paper boat", "a card", "a snowman"])],
  ["builds", "build", "built", () => "a sand castle"],
  ["throws", "throw", "threw", () => "the ball"],
  ["catches", "catch", "caught", () => "the ball"],
  ["flies", "fly", "flew", () => "a kite"],
  ["rides", "ride", "rode", () => "a bike"],
  ["drinks", "drink", "drank", () => "some milk"],
  ["feeds", "feed", "fed", () => "the ducks"],
  ["buys", "buy", "bought", (r) => r.pick(["some bread", "an apple", "a hat"])],
  ["tells", "tell", "told", () => "a funny story"],
  ["hugs", "hug", "hugged", animal],
  ["carries", "carry", "carried", thing],
  ["sits", "sit", "sat", () => "under a tree"],
  ["hides", "hide", "hid", () => "behind the door"],
  ["swims", "swim", "swam", () => "in the lake"],
  ["sleeps", "sleep", "slept", () => "all afternoon"],
  ["laughs", "laugh", "laughed", () => "loudly"],
  ["cries", "cry", "cried", () => "softly"],
  ["jumps", "jump", "jumped", () => "up and down"],
  ["falls", "fall", "fell", () => "on the grass"],
  ["wins", "win", "won", () => "the race"],
  ["gives", "give", "gave", (r) => `${animal(r)} a treat`],
  ["takes", "take", "took", thing],
  ["wakes up", "wake up", "woke up", () => "early"],
];
const BE: [string, string, string] = ["is", "are", "was"];
const BE_PLURAL_PAST = "were";
const ADJ = ["happy", "tired", "hungry", "cold", "sleepy", "excited", "sad", "brave"];

export const pastTense: Task = {
  name: "past-tense",
  description:
    'Format transformation: two or three short present-tense sentences about one or two characters ("Mia runs to the park and sees a big dog.") → the same text in the past tense ("Mia ran to the park and saw a big dog."). Regular and irregular verbs, singular and plural subjects, "is/are" → "was/were"; every other word is copied.',
  make(r) {
    const one = r.chance(0.5) ? makeChild(r) : makeAnimal(r);
    const two = r.chance(0.3) ? makeChild(r, [one.name]) : null;
    const subject = two ? list([one.name, two.name]) : one.name;
    const pro = two ? "they" : one.pro.subj;
    const present: string[] = [];
    const past: string[] = [];
    const clause = (who: string): [string, string] => {
      if (r.chance(0.12)) {
        const adj = r.pick(ADJ);
        return [`${who} ${two ? BE[1] : BE[0]} ${adj}`, `${who} ${two ? BE_PLURAL_PAST : BE[2]} ${adj}`];
      }
      const [sg, pl, pst, obj] = r.pick(VERBS);
      const o = obj(r, one);
      const ob = two ? o.replace(/^(his|her) /, "their ") : o;
      return [`${who} ${two ? pl : sg} ${ob}`, `${who} ${pst} ${ob}`];
    };
    const n = r.range(2, 3);
    for (let i = 0; i < n; i++) {
      const who = i === 0 ? subject : r.chance(0.5) ? cap(pro) : subject;
      const [p1, q1] = clause(who);
      if (r.chance(0.4)) {
        const [p2, q2] = clause("");
        present.push(`${p1} and${p2}.`);
        past.push(`${q1} and${q2}.`);
      } else {
        present.push(`${p1}.`);
        past.push(`${q1}.`);
      }
    }
    return { prompt: `Present: ${present.join(" ")}\nPast:`, completion: ` ${past.join(" ")}` };
  },
};
