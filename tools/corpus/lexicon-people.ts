// Names, family members and feelings. Each feeling comes with the words and body language that show it,
// so stories can show a mood without always naming it (the mood task relies on that).

export const GIRLS = [
  "Mia",
  "Lily",
  "Emma",
  "Sara",
  "Anna",
  "Lucy",
  "Zoe",
  "Ella",
  "Amy",
  "Rose",
  "Ruby",
  "Nora",
  "Ivy",
  "Maya",
  "Lena",
  "Kate",
  "Jane",
  "Hana",
  "Nina",
  "Ada",
  "Clara",
  "Eva",
  "Grace",
  "Julia",
  "Lola",
  "Molly",
  "Olive",
  "Pia",
  "Tara",
  "Wendy",
] as const;
export const BOYS = [
  "Tom",
  "Ben",
  "Sam",
  "Max",
  "Leo",
  "Jack",
  "Tim",
  "Finn",
  "Noah",
  "Liam",
  "Jake",
  "Luke",
  "Owen",
  "Adam",
  "Eli",
  "Hugo",
  "Ivan",
  "Joe",
  "Kai",
  "Milo",
  "Ned",
  "Omar",
  "Paul",
  "Ravi",
  "Theo",
  "Toby",
  "Victor",
  "Will",
  "Yuri",
  "Zack",
] as const;
/** names for animal characters */
export const PET_NAMES = [
  "Spot",
  "Fluffy",
  "Buddy",
  "Coco",
  "Pip",
  "Rusty",
  "Daisy",
  "Ziggy",
  "Biscuit",
  "Pepper",
  "Sunny",
  "Whiskers",
  "Patch",
  "Bubbles",
  "Ginger",
  "Nibbles",
] as const;

export interface Relative {
  /** "mom" */
  name: string;
  /** how a child calls them: "Mom" */
  title: string;
  female: boolean;
}

export const PARENTS: readonly Relative[] = [
  { name: "mom", title: "Mom", female: true },
  { name: "dad", title: "Dad", female: false },
  { name: "grandma", title: "Grandma", female: true },
  { name: "grandpa", title: "Grandpa", female: false },
];

export const MOODS = ["happy", "sad", "scared", "angry"] as const;
export type Mood = (typeof MOODS)[number];

export interface Feeling {
  /** adjectives that name the mood */
  words: string[];
  /** past-tense body language; {p} = possessive pronoun, {s} = subject pronoun */
  shows: string[];
  /** short things one says in this mood */
  lines: string[];
}

export const FEELINGS: Readonly<Record<Mood, Feeling>> = {
  happy: {
    words: ["happy", "glad", "joyful", "cheerful", "delighted"],
    shows: [
      "smiled from ear to ear",
      "laughed and clapped {p} hands",
      "jumped up and down",
      "gave a big hug to everyone",
      "danced with joy",
      "hummed a happy song",
    ],
    lines: ["This is the best day ever!", "Yay!", "I love it!", "Thank you so much!", "Hooray!", "What a wonderful day!"],
  },
  sad: {
    words: ["sad", "unhappy", "gloomy", "upset", "heartbroken"],
    shows: [
      "cried quietly",
      "looked down at the ground",
      "had tears in {p} eyes",
      "sat alone and sighed",
      "did not want to play",
      "hugged {p} knees and sniffled",
    ],
    lines: ["I miss it so much.", "It is all gone.", "Nothing is fun today.", "Why did it have to happen?", "I wish it was still here."],
  },
  scared: {
    words: ["scared", "afraid", "frightened", "nervous", "terrified"],
    shows: ["shook like a leaf", "tried to hide", "held {p} breath", "felt {p} heart beat fast", "backed away slowly", "covered {p} eyes"],
    lines: ["What was that noise?", "Help!", "I want to go home!", "Is someone there?", "Please make it stop!"],
  },
  angry: {
    words: ["angry", "mad", "cross", "grumpy", "furious"],
    shows: [
      "stomped {p} feet",
      "crossed {p} arms",
      "shouted very loudly",
      "turned red in the face",
      "kicked at the ground",
      "frowned and growled",
    ],
    lines: ["That is not fair!", "Give it back!", "Go away!", "I am so mad!", "Stop it right now!"],
  },
};

/** other feelings for variety in stories (never the label of the mood task) */
export const OTHER_FEELINGS = ["excited", "proud", "surprised", "curious", "tired", "shy", "calm", "brave", "thankful"] as const;
