// Benchmark dispatcher: `npm run bench -- <name> [--json] [...]`. Each bench prints a human table;
// with --json its last stdout line is one JSON object for machines.

const BENCHES: Record<string, () => Promise<{ run(args: string[]): Promise<void> }>> = {
  engine: () => import("./engine.ts"),
  finetune: () => import("./finetune.ts"),
  "finetune-memory": () => import("./finetune-memory.ts"),
  generate: () => import("./generate.ts"),
  isolation: () => import("./isolation.ts"),
  "lora-layout": () => import("./lora-layout.ts"),
  serve: () => import("./serve.ts"),
  soak: () => import("./soak.ts"),
  structured: () => import("./structured.ts"),
};

const [name, ...args] = process.argv.slice(2);
const load = name ? BENCHES[name] : undefined;
if (!load) {
  console.error(`usage: npm run bench -- <${Object.keys(BENCHES).join("|")}> [--json]`);
  process.exit(2);
}
await (await load()).run(args);
