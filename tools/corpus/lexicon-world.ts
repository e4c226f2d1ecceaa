// Places, things, foods, weather and times of day: the world the stories happen in. Each place lists what
// one sees and does there, so a story that goes to the beach talks about sand and waves, not swings.

export interface Place {
  /** "the park" */
  name: string;
  /** how one is there: "at the park", "in the forest" */
  at: string;
  outdoor: boolean;
  /** noun phrases seen there */
  sees: string[];
  /** past-tense activities done there */
  does: string[];
  /** describing words for the place */
  looks: string[];
  /** a hiding spot: "under the slide" */
  spots: string[];
}

const place = (name: string, at: string, outdoor: boolean, sees: string[], does: string[], looks: string[], spots: string[]): Place => ({
  name,
  at,
  outdoor,
  sees,
  does,
  looks,
  spots,
});

export const PLACES: readonly Place[] = [
  place(
    "the park",
    "at the park",
    true,
    ["tall trees", "a big slide", "green grass", "other children"],
    ["played on the swings", "went down the slide", "ran on the grass", "fed the ducks"],
    ["green", "sunny", "busy"],
    ["under the slide", "behind a tree", "near the swings"],
  ),
  place(
    "the beach",
    "at the beach",
    true,
    ["soft sand", "big waves", "shells", "a red boat"],
    ["built a sand castle", "looked for shells", "splashed in the waves", "dug a deep hole"],
    ["sandy", "sunny", "windy"],
    ["under the sand", "behind a rock", "next to a shell"],
  ),
  place(
    "the forest",
    "in the forest",
    true,
    ["tall trees", "mushrooms", "a little stream", "birds in the trees"],
    ["picked berries", "followed a path", "listened to the birds", "jumped over logs"],
    ["quiet", "green", "dark", "deep"],
    ["under a log", "behind a bush", "inside a hollow tree"],
  ),
  place(
    "the farm",
    "on the farm",
    true,
    ["a red barn", "cows and pigs", "a big tractor", "fields of corn"],
    ["fed the hens", "rode on the tractor", "picked apples", "helped milk the cow"],
    ["busy", "sunny", "big"],
    ["in the hay", "behind the barn", "under the tractor"],
  ),
  place(
    "the garden",
    "in the garden",
    true,
    ["pretty flowers", "green plants", "bees and butterflies", "a little pond"],
    ["watered the flowers", "dug in the dirt", "planted seeds", "picked tomatoes"],
    ["pretty", "sunny", "quiet"],
    ["under a big leaf", "behind the flowers", "next to the pond"],
  ),
  place(
    "the zoo",
    "at the zoo",
    true,
    ["lions and monkeys", "a tall giraffe", "a big elephant", "penguins in the water"],
    ["watched the monkeys", "fed the goats", "looked at the lions", "ate ice cream"],
    ["big", "noisy", "busy"],
    ["near the monkey house", "behind a bench", "by the gate"],
  ),
  place(
    "the library",
    "at the library",
    false,
    ["many books", "big tables", "a kind librarian", "soft chairs"],
    ["read a book about the sea", "looked at pictures", "listened to a story", "found a book about stars"],
    ["quiet", "big", "warm"],
    ["under a table", "behind the books", "on a high shelf"],
  ),
  place(
    "the school",
    "at school",
    false,
    ["desks and chairs", "a big board", "crayons and paper", "a class fish"],
    ["drew a picture", "sang a song", "counted to ten", "played with blocks"],
    ["bright", "busy", "friendly"],
    ["in the toy box", "under a desk", "behind the door"],
  ),
  place(
    "the lake",
    "at the lake",
    true,
    ["blue water", "a little dock", "ducks", "a wooden boat"],
    ["threw stones in the water", "went fishing", "rowed a boat", "swam near the shore"],
    ["calm", "blue", "cool"],
    ["under the dock", "in the tall reeds", "by the boat"],
  ),
  place(
    "the hill",
    "on the hill",
    true,
    ["the whole town", "soft grass", "white clouds", "a big old tree"],
    ["rolled down the grass", "flew a kite", "watched the clouds", "had a picnic"],
    ["high", "windy", "green"],
    ["behind the old tree", "in the tall grass", "under a rock"],
  ),
  place(
    "the market",
    "at the market",
    false,
    ["red apples", "fresh bread", "many people", "bright flowers"],
    ["bought some apples", "smelled the fresh bread", "helped carry a bag", "tasted a sweet plum"],
    ["busy", "loud", "colorful"],
    ["under a cart", "behind a basket", "next to the flowers"],
  ),
  place(
    "the kitchen",
    "in the kitchen",
    false,
    ["pots and pans", "a warm oven", "a bowl of fruit", "a big table"],
    ["baked cookies", "mixed the flour and eggs", "made soup", "washed the cups"],
    ["warm", "clean", "bright"],
    ["under the table", "behind the bread box", "in a drawer"],
  ),
  place(
    "the playground",
    "at the playground",
    true,
    ["a tall slide", "swings", "a sandbox", "a climbing frame"],
    ["climbed the frame", "played tag", "dug in the sandbox", "swung high on the swings"],
    ["busy", "sunny", "noisy"],
    ["in the sandbox", "under the bench", "behind the slide"],
  ),
  place(
    "the river",
    "by the river",
    true,
    ["clear water", "smooth stones", "a little bridge", "fish in the water"],
    ["skipped stones", "crossed the bridge", "watched the fish", "sailed a paper boat"],
    ["cool", "quiet", "sparkly"],
    ["under the bridge", "between two stones", "in the reeds"],
  ),
  place(
    "the snowy field",
    "in the snowy field",
    true,
    ["white snow", "icicles", "a frozen pond", "footprints in the snow"],
    ["built a snowman", "made snow angels", "threw snowballs", "went sledding"],
    ["cold", "white", "quiet"],
    ["under the snow", "behind the snowman", "by the frozen pond"],
  ),
  place(
    "the bakery",
    "at the bakery",
    false,
    ["warm bread", "pink cupcakes", "a big cake", "a friendly baker"],
    ["smelled the bread", "picked a cupcake", "watched the baker", "shared a cookie"],
    ["warm", "sweet", "cozy"],
    ["under the counter", "behind a cake", "by the door"],
  ),
];

export interface Thing {
  name: string;
  /** words that fit the object: sizes, colors */
  looks: string[];
  /** past-tense play phrases, "it" is the thing */
  play: string[];
}

const thing = (name: string, looks: string[], play: string[]): Thing => ({ name, looks, play });

export const THINGS: readonly Thing[] = [
  thing(
    "ball",
    ["red", "blue", "big", "bouncy", "yellow"],
    ["kicked it", "threw it high", "bounced it on the ground", "rolled it across the floor"],
  ),
  thing(
    "kite",
    ["red", "green", "long", "colorful"],
    ["flew it high in the sky", "ran with it in the wind", "watched it dance in the wind"],
  ),
  thing(
    "teddy bear",
    ["soft", "brown", "old", "fluffy"],
    ["hugged it tight", "took it everywhere", "gave it a name", "had a tea party with it"],
  ),
  thing("doll", ["pretty", "little", "old"], ["brushed its hair", "dressed it up", "sang it a song"]),
  thing("toy car", ["red", "fast", "shiny", "little"], ["raced it down the hall", "made it zoom", "built a road for it"]),
  thing("toy boat", ["blue", "wooden", "little"], ["sailed it in the bath", "floated it on the water", "pushed it across the pond"]),
  thing("drum", ["loud", "red", "little"], ["banged it loudly", "played a song on it", "tapped it softly"]),
  thing("book", ["big", "old", "new", "colorful"], ["read it every night", "looked at the pictures", "read it to a friend"]),
  thing("hat", ["funny", "blue", "big", "warm"], ["wore it every day", "put it on proudly", "waved it in the air"]),
  thing("box of crayons", ["new", "big"], ["drew a big sun", "colored a picture", "made a card"]),
  thing("puzzle", ["big", "hard", "new"], ["put all the pieces together", "worked on it all day", "finished it at last"]),
  thing("scarf", ["warm", "red", "long", "striped"], ["wrapped it around the neck", "wore it in the snow"]),
  thing("shell", ["pink", "shiny", "little", "smooth"], ["held it up to the ear", "kept it on the shelf", "showed it to everyone"]),
  thing("balloon", ["red", "yellow", "big", "shiny"], ["held it by the string", "let it float up", "tapped it into the air"]),
  thing("bike", ["blue", "new", "shiny", "fast"], ["rode it down the street", "rang its bell", "rode it around the park"]),
  thing("blanket", ["soft", "warm", "old", "blue"], ["wrapped up in it", "made a fort with it", "took it to bed"]),
  thing("robot", ["shiny", "silver", "little", "funny"], ["made it walk", "pressed its buttons", "made it dance"]),
  thing("key", ["golden", "small", "old", "shiny"], ["kept it safe", "put it in a pocket", "tried it in the lock"]),
];

export interface Food {
  name: string;
  /** "some soup", "an apple" */
  some: string;
  taste: string[];
}

export const FOODS: readonly Food[] = [
  { name: "apple", some: "an apple", taste: ["sweet", "crunchy", "juicy"] },
  { name: "cake", some: "some cake", taste: ["sweet", "soft", "yummy"] },
  { name: "cookies", some: "some cookies", taste: ["sweet", "warm", "crunchy"] },
  { name: "soup", some: "some soup", taste: ["hot", "warm", "tasty"] },
  { name: "bread", some: "some bread", taste: ["warm", "soft", "fresh"] },
  { name: "pie", some: "some pie", taste: ["sweet", "warm", "yummy"] },
  { name: "banana", some: "a banana", taste: ["sweet", "soft", "yummy"] },
  { name: "sandwich", some: "a sandwich", taste: ["tasty", "big", "yummy"] },
  { name: "ice cream", some: "some ice cream", taste: ["cold", "sweet", "creamy"] },
  { name: "pancakes", some: "some pancakes", taste: ["warm", "fluffy", "sweet"] },
  { name: "strawberries", some: "some strawberries", taste: ["red", "sweet", "juicy"] },
  { name: "carrots", some: "some carrots", taste: ["crunchy", "orange", "fresh"] },
];

export interface Weather {
  name: string;
  /** "One sunny day" style adjective */
  adj: string;
  /** sentences describing it */
  says: string[];
}

export const WEATHER: readonly Weather[] = [
  {
    name: "sun",
    adj: "sunny",
    says: ["The sun was bright and warm.", "The sky was blue and there were no clouds.", "It was a warm and sunny day."],
  },
  {
    name: "rain",
    adj: "rainy",
    says: ["Rain fell on the roof.", "Big drops of rain tapped on the window.", "The sky was gray and it was raining."],
  },
  {
    name: "wind",
    adj: "windy",
    says: ["The wind blew the leaves around.", "The trees swayed in the wind.", "It was a cool and windy day."],
  },
  {
    name: "snow",
    adj: "snowy",
    says: ["Soft snow covered the ground.", "White snowflakes fell from the sky.", "Everything was white with snow."],
  },
  {
    name: "clouds",
    adj: "cloudy",
    says: ["Gray clouds covered the sky.", "The sky was full of fluffy clouds.", "It was a cool and cloudy day."],
  },
];

export const TIMES = ["morning", "afternoon", "evening", "day"] as const;
export const COLORS = ["red", "blue", "green", "yellow", "orange", "purple", "pink", "white", "brown", "black"] as const;
export const SEASONS = [
  { name: "spring", says: ["flowers bloom", "baby animals are born", "the grass turns green", "birds build nests"] },
  {
    name: "summer",
    says: ["the days are long and hot", "children swim and play outside", "fruit grows on the trees", "people go to the beach"],
  },
  { name: "fall", says: ["the leaves turn red and orange", "the leaves fall from the trees", "squirrels hide nuts", "the air gets cool"] },
  { name: "winter", says: ["it is cold outside", "snow can fall", "bears sleep in their caves", "people wear warm coats"] },
] as const;

/** present tense (also first person) of the verbs that start place activities */
const PRESENT: Record<string, string> = {
  played: "play",
  went: "go",
  ran: "run",
  fed: "feed",
  built: "build",
  looked: "look",
  splashed: "splash",
  dug: "dig",
  picked: "pick",
  followed: "follow",
  listened: "listen",
  jumped: "jump",
  rode: "ride",
  helped: "help",
  watered: "water",
  planted: "plant",
  watched: "watch",
  ate: "eat",
  read: "read",
  found: "find",
  drew: "draw",
  sang: "sing",
  counted: "count",
  threw: "throw",
  rowed: "row",
  swam: "swim",
  rolled: "roll",
  flew: "fly",
  had: "have",
  bought: "buy",
  smelled: "smell",
  tasted: "taste",
  baked: "bake",
  mixed: "mix",
  made: "make",
  washed: "wash",
  climbed: "climb",
  swung: "swing",
  skipped: "skip",
  crossed: "cross",
  sailed: "sail",
  shared: "share",
};

/** a place activity ("fed the ducks") in the present tense ("feed the ducks") */
export function inPresent(activity: string): string {
  return activity.replace(/^(\w+)/, (v) => PRESENT[v] ?? v);
}
