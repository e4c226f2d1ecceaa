// The state a story is written from: its cast, place, object and weather, the paragraphs written so far,
// and helpers that refer to characters naturally (name first, then sometimes a pronoun).

import { type Pronouns, HE, SHE, a, paragraph, quote } from "./grammar.ts";
import { type Animal, ANIMALS, PETS } from "./lexicon-animals.ts";
import { BOYS, FEELINGS, GIRLS, type Mood, PARENTS, PET_NAMES, type Relative } from "./lexicon-people.ts";
import { type Place, PLACES, type Thing, THINGS, type Weather, WEATHER } from "./lexicon-world.ts";
import type { CorpusRng } from "./rng.ts";

export interface Character {
  name: string;
  /** "girl", "boy", or the animal's name */
  kind: string;
  pro: Pronouns;
  animal: Animal | null;
}

export function makeChild(r: CorpusRng, not: string[] = []): Character {
  const girl = r.chance(0.5);
  const name = r.pickOther(girl ? GIRLS : BOYS, ...not);
  return { name, kind: girl ? "girl" : "boy", pro: girl ? SHE : HE, animal: null };
}

export function makeAnimal(r: CorpusRng, not: string[] = [], pool: readonly Animal[] = ANIMALS): Character {
  const animal = r.pick(pool);
  return { name: r.pickOther(PET_NAMES, ...not), kind: animal.name, pro: r.chance(0.5) ? SHE : HE, animal };
}

/** A parent as a character: referred to as "her mom" by narration, "Mom" in speech. */
export function makeParent(r: CorpusRng): Character & { relative: Relative } {
  const relative = r.pick(PARENTS);
  return { name: relative.name, kind: relative.name, pro: relative.female ? SHE : HE, animal: null, relative };
}

export class StoryCtx {
  readonly paragraphs: string[][] = [[]];
  readonly hero: Character;
  readonly friend: Character;
  readonly parent: Character & { relative: Relative };
  readonly pet: Character;
  place: Place;
  readonly thing: Thing;
  /** the thing with a fixed describing word: "red ball" */
  readonly thingName: string;
  readonly weather: Weather;
  /** how the hero feels at the end; plots set it */
  mood: Mood = "happy";
  /** places the hero went, in order (for question answering over stories) */
  readonly visited: Place[] = [];
  private lastSubject: Character | null = null;
  private friendIntroduced = false;
  /** the opening mentioned the pet already */
  petIntroduced = false;

  constructor(readonly r: CorpusRng) {
    this.hero = r.chance(0.75) ? makeChild(r) : makeAnimal(r);
    this.friend = r.chance(0.6) ? makeChild(r, [this.hero.name]) : makeAnimal(r, [this.hero.name]);
    this.parent = makeParent(r);
    this.pet = makeAnimal(r, [this.hero.name, this.friend.name], PETS);
    this.place = r.pick(PLACES);
    this.thing = r.pick(THINGS);
    this.thingName = `${r.pick(this.thing.looks)} ${this.thing.name}`;
    this.weather = r.pick(WEATHER);
  }

  /** Name or pronoun for a sentence subject: a pronoun only right after the same character was named. */
  subj(c: Character): string {
    const usePronoun = this.lastSubject === c && this.r.chance(0.55);
    this.lastSubject = c;
    return usePronoun ? c.pro.subj : this.ref(c);
  }

  /** How narration names a character: "Mia", "her mom", "the cat". */
  ref(c: Character): string {
    if (c === this.parent) return `${this.hero.pro.poss} ${this.parent.relative.name}`;
    if (c === this.friend) return this.friendRef();
    return c.name;
  }

  /** The friend by name; the first time as "his friend Pip the rabbit", so readers know who that is. */
  friendRef(): string {
    const f = this.friend;
    if (this.friendIntroduced) return f.name;
    this.friendIntroduced = true;
    return `${this.hero.pro.poss} friend ${f.name}${f.animal ? ` the ${f.kind}` : ""}`;
  }

  /** How a character is addressed in speech. */
  address(c: Character): string {
    return c === this.parent ? this.parent.relative.title : c.name;
  }

  /** "a little girl named Mia", "a fluffy rabbit named Pip" */
  intro(c: Character): string {
    const adj = c.animal
      ? this.r.pick(c.animal.looks)
      : this.r.pick(["little", "kind", "curious", "happy", "brave", "clever", "small", "cheerful"]);
    if (c === this.friend) this.friendIntroduced = true;
    return `${a(`${adj} ${c.kind}`)} named ${c.name}`;
  }

  say(...sentences: string[]): void {
    this.paragraphs[this.paragraphs.length - 1]!.push(...sentences);
  }

  /** Dialogue: the speaker's line, with a speech verb and sometimes the speaker first. */
  speak(c: Character, line: string, verb?: string): void {
    const v =
      verb ??
      (line.endsWith("?")
        ? this.r.pick(["asked", "asked", "wondered"])
        : line.endsWith("!")
          ? this.r.pick(["shouted", "cried", "said"])
          : this.r.pick(["said", "said", "said", "replied", "whispered"]));
    this.lastSubject = c;
    this.say(quote(line, this.ref(c), v, this.r.chance(0.25)));
  }

  newParagraph(): void {
    if (this.paragraphs[this.paragraphs.length - 1]!.length > 0) this.paragraphs.push([]);
    this.lastSubject = null;
  }

  /** body language for a mood, with the character's pronouns filled in */
  shows(c: Character, mood: Mood): string {
    return this.r.pick(FEELINGS[mood].shows).replaceAll("{p}", c.pro.poss).replaceAll("{s}", c.pro.subj);
  }

  feelWord(mood: Mood): string {
    return this.r.pick(FEELINGS[mood].words);
  }

  go(c: Character, p: Place, how = "went"): string {
    if (c === this.hero) this.visited.push(p);
    this.place = p;
    return `${this.subj(c)} ${how} to ${p.name}`;
  }

  text(): string {
    return this.paragraphs
      .filter((p) => p.length > 0)
      .map((p) => paragraph(p))
      .join("\n");
  }
}
