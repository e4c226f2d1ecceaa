// Animals, with what they sound like, eat, do and where they live. Stories and fact paragraphs draw on the
// same table, so the corpus says consistent things (a duck always quacks and swims in the pond).

export interface Animal {
  name: string;
  plural: string;
  /** past-tense sound verb: "barked" */
  sound: string;
  /** the sound as speech: "Woof" */
  call: string;
  /** where it lives, as a phrase: "on the farm" */
  home: string;
  /** what it eats (plural or mass nouns) */
  eats: string[];
  /** how it moves, past tense: "hopped" */
  moved: string;
  /** its young */
  baby: string;
  /** words that describe it */
  looks: string[];
  /** true facts, present tense, with the plural as subject */
  facts: string[];
  /** can a child keep it at home */
  pet: boolean;
}

const animal = (name: string, plural: string, sound: string, call: string, home: string, eats: string[], moved: string, baby: string, looks: string[], facts: string[], pet = false): Animal => ({ name, plural, sound, call, home, eats, moved, baby, looks, facts, pet });

export const ANIMALS: readonly Animal[] = [
  animal("dog", "dogs", "barked", "Woof", "in a little house", ["bones", "meat"], "ran", "puppy", ["brown", "friendly", "playful", "happy", "spotted"], ["like to play fetch", "wag their tails when they are happy", "have a very good nose"], true),
  animal("cat", "cats", "meowed", "Meow", "in a cozy house", ["fish", "milk"], "ran", "kitten", ["soft", "gray", "orange", "sleepy", "curious"], ["like to sleep in the sun", "purr when they are happy", "can climb trees"], true),
  animal("rabbit", "rabbits", "squeaked", "Squeak", "in a hole under the ground", ["carrots", "grass"], "hopped", "bunny", ["fluffy", "white", "small", "quick"], ["have long ears", "can hop very fast", "love to eat carrots"], true),
  animal("duck", "ducks", "quacked", "Quack", "by the pond", ["seeds", "bugs"], "waddled", "duckling", ["yellow", "little", "noisy"], ["swim in ponds", "have webbed feet", "can fly and swim"]),
  animal("frog", "frogs", "croaked", "Ribbit", "by the pond", ["flies", "bugs"], "jumped", "tadpole", ["green", "slimy", "little"], ["can jump very far", "live near water", "catch bugs with their long tongues"]),
  animal("bird", "birds", "sang", "Tweet", "in a nest in a tree", ["seeds", "worms"], "flew", "chick", ["blue", "tiny", "bright"], ["build nests in trees", "have feathers", "sing in the morning"]),
  animal("owl", "owls", "hooted", "Hoo", "in a tall tree", ["mice", "bugs"], "flew", "owlet", ["wise", "brown", "quiet"], ["stay awake at night", "have big round eyes", "can turn their heads far around"]),
  animal("cow", "cows", "mooed", "Moo", "on the farm", ["grass", "hay"], "walked", "calf", ["big", "gentle", "black and white"], ["give us milk", "eat grass all day", "live on farms"]),
  animal("pig", "pigs", "oinked", "Oink", "on the farm", ["apples", "corn"], "trotted", "piglet", ["pink", "muddy", "round"], ["like to roll in the mud", "have curly tails", "are very smart"]),
  animal("sheep", "sheep", "baaed", "Baa", "on the farm", ["grass", "hay"], "walked", "lamb", ["woolly", "white", "soft"], ["have thick wool", "stay together in a flock", "eat grass in the fields"]),
  animal("horse", "horses", "neighed", "Neigh", "on the farm", ["hay", "apples", "oats"], "galloped", "foal", ["tall", "strong", "fast"], ["can run very fast", "sleep standing up", "love to eat apples"]),
  animal("hen", "hens", "clucked", "Cluck", "on the farm", ["seeds", "corn"], "walked", "chick", ["red", "busy", "little"], ["lay eggs", "sleep in a coop", "scratch the ground for seeds"]),
  animal("goat", "goats", "bleated", "Meh", "on the farm", ["grass", "leaves"], "climbed", "kid", ["silly", "white", "brave"], ["love to climb", "eat almost anything", "have little beards"]),
  animal("mouse", "mice", "squeaked", "Squeak", "in a tiny hole in the wall", ["cheese", "seeds"], "ran", "pup", ["tiny", "gray", "quick", "shy"], ["are very small", "have long thin tails", "love to eat seeds"], true),
  animal("squirrel", "squirrels", "chattered", "Chit chit", "in a tree in the forest", ["nuts", "acorns"], "climbed", "kit", ["bushy", "busy", "quick", "brown"], ["hide nuts for the winter", "have bushy tails", "climb trees very fast"]),
  animal("fox", "foxes", "yipped", "Yip", "in a den in the forest", ["berries", "mice"], "ran", "cub", ["red", "clever", "quick"], ["have bushy tails", "live in dens", "are very clever"]),
  animal("bear", "bears", "growled", "Grr", "in a cave in the forest", ["honey", "berries", "fish"], "walked", "cub", ["big", "brown", "strong", "sleepy"], ["sleep all winter", "love to eat honey", "are very strong"]),
  animal("deer", "deer", "snorted", "Hmph", "in the forest", ["leaves", "grass"], "leaped", "fawn", ["gentle", "quiet", "brown"], ["can run and jump very well", "live in the forest", "eat leaves and grass"]),
  animal("turtle", "turtles", "hissed", "Hiss", "by the pond", ["leaves", "bugs"], "crawled", "hatchling", ["slow", "green", "old", "patient"], ["carry their homes on their backs", "move very slowly", "can live for a long time"], true),
  animal("fish", "fish", "splashed", "Blub", "in the river", ["bugs", "tiny plants"], "swam", "fry", ["shiny", "orange", "little", "quick"], ["live in water", "breathe with gills", "swim all day"], true),
  animal("bee", "bees", "buzzed", "Buzz", "in a hive", ["nectar"], "flew", "larva", ["busy", "yellow", "tiny"], ["make honey", "visit flowers", "live in hives"]),
  animal("butterfly", "butterflies", "fluttered", "Flap", "in the garden", ["nectar"], "fluttered", "caterpillar", ["pretty", "colorful", "gentle"], ["start life as caterpillars", "have bright wings", "drink from flowers"]),
  animal("lion", "lions", "roared", "Roar", "in the grassland", ["meat"], "ran", "cub", ["big", "proud", "golden", "brave"], ["live in groups called prides", "roar very loudly", "sleep for most of the day"]),
  animal("elephant", "elephants", "trumpeted", "Toot", "in the grassland", ["leaves", "grass", "fruit"], "walked", "calf", ["huge", "gray", "kind", "gentle"], ["have long trunks", "never forget a friend", "are the biggest animals on land"]),
  animal("monkey", "monkeys", "chattered", "Ooh ooh", "in the jungle", ["bananas", "fruit"], "swung", "baby", ["funny", "cheeky", "brown", "silly"], ["swing from tree to tree", "love bananas", "live in the jungle"]),
  animal("giraffe", "giraffes", "hummed", "Hmm", "in the grassland", ["leaves"], "walked", "calf", ["tall", "spotted", "gentle"], ["have very long necks", "eat leaves from tall trees", "are the tallest animals"]),
  animal("penguin", "penguins", "squawked", "Squawk", "on the ice", ["fish"], "waddled", "chick", ["black and white", "little", "funny"], ["cannot fly but can swim well", "live where it is cold", "slide on their bellies"]),
  animal("dolphin", "dolphins", "clicked", "Click click", "in the sea", ["fish"], "swam", "calf", ["smart", "gray", "playful"], ["live in the sea", "jump out of the water", "talk to each other with clicks"]),
  animal("snail", "snails", "sighed", "Hmm", "in the garden", ["leaves"], "crawled", "baby", ["slow", "small", "shiny"], ["carry shells on their backs", "move very slowly", "come out after the rain"]),
];

export const PETS = ANIMALS.filter((x) => x.pet);
export const FARM = ANIMALS.filter((x) => x.home === "on the farm");
