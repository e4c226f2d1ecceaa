// The documentation cannot rot: every command of the README's quickstart and every CLI/curl/JS example
// of the user guide is run, in order, against a live `sprig serve` on 127.0.0.1 (the convention is in
// doc-blocks.ts). What the test changes, and only this: `npx sprig` runs as `node bin/sprig.mjs`, the
// server takes a free port instead of 8080, the demo and the guide use the tiny fixture model and small
// datasets (the bundled ones are longer than its 64-token context).

import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { dirname } from "node:path";
import { after, test } from "node:test";
import { type Block, RUNNABLE, parseBlocks, sectionOf } from "./doc-blocks.ts";
import { type DocContext, REPO, docContext, runBlock, stopServers } from "./doc-runner.ts";
import { GUIDE, NOT_WALKED } from "./guide.ts";
import { TINY_MODEL, tinyTasks } from "./tiny-data.ts";


const contexts: DocContext[] = [];
after(async () => {
  for (const c of contexts) {
    await stopServers(c);
    rmSync(c.cwd, { recursive: true, force: true });
  }
});

async function walk(ctx: DocContext, blocks: Block[]): Promise<void> {
  for (const b of blocks) await runBlock(ctx, b);
}

const summary = (ctx: DocContext) => `${ctx.ran.length} blocks run, ${ctx.skipped.length} skipped (${ctx.skipped.map((b) => `${b.file}:${b.line}`).join(", ") || "none"})`;

test("every Markdown page under docs/ is walked through or accounted for", () => {
  const pages = readdirSync("docs").filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`);
  for (const p of pages) assert.ok(GUIDE.includes(p) || NOT_WALKED.some((re) => re.test(p)), `${p} is neither in the guide's walk nor excluded with a reason`);
  for (const p of GUIDE) assert.ok(existsSync(p), p);
});

test("the guide's examples are sh or js blocks, each run or skipped with a reason", () => {
  for (const p of GUIDE) {
    for (const b of parseBlocks(p, readFileSync(p, "utf8"))) {
      assert.ok(!["bash", "shell", "console", "zsh"].includes(b.lang), `${p}:${b.line}: use \`\`\`sh for commands (the test runs sh blocks)`);
      if (!RUNNABLE.has(b.lang)) continue;
      assert.ok(b.code.trim() !== "", `${p}:${b.line}: empty block`);
    }
  }
});

test("the README quickstart works as written (demo with the tiny model)", async () => {
  const ctx = docContext();
  contexts.push(ctx);
  const t = tinyTasks(ctx.cwd);
  ctx.substitutions.push([/^npx sprig demo$/m, `npx sprig demo --model ${TINY_MODEL} --datasets ${t.choices},${t.words} --epochs 1 --eval 2`]);
  const blocks = parseBlocks("README.md", sectionOf(readFileSync("README.md", "utf8"), "Quickstart"));
  assert.ok(blocks.some((b) => b.code.trim() === "npx sprig demo") && blocks.some((b) => b.code.trim() === "npx sprig serve"), "the quickstart shows the demo and the service");
  assert.deepEqual(blocks[0]!.code.split("\n").map((l) => l.split("#")[0]!.trim()), ["npm ci", "npm test"], "the two set-up commands CI runs");
  await walk(ctx, blocks);
  // what the quickstart promises about `sprig serve`: the bundled base model is registered, when it exists
  if (existsSync(`${REPO}/models/sprig-base/config.json`)) {
    const r = await fetch(`${ctx.url}/20231130/models`, { headers: { authorization: `Bearer ${ctx.env.SPRIG_API_KEY}` } });
    const models = ((await r.json()) as { items: { type: string; artifactPath: string }[] }).items;
    assert.ok(models.some((m) => m.type === "BASE" && m.artifactPath === `${REPO}/models/sprig-base`), "sprig serve registered the bundled base model");
  }
  assert.deepEqual(await stopServers(ctx), [0], "sprig serve stops cleanly on SIGTERM");
  assert.equal(ctx.skipped.length, 1, summary(ctx));
});

test("the user guide's examples work as written (tiny model, small datasets)", async () => {
  // the guide's import root is ~/models; here it is the fixtures' directory, which holds the tiny model
  // and its metrics port 9464 is any free one
  const metricsPort = await new Promise<number>((res) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
  const ctx = docContext([[/--import-root ~\/models/g, `--import-root ${dirname(TINY_MODEL)}`], [/\b9464\b/g, String(metricsPort)]], { HF_MODEL_DIR: TINY_MODEL });
  contexts.push(ctx);
  const t = tinyTasks(ctx.cwd);
  ctx.substitutions.push([/data\/tasks\/demo-record\/train\.jsonl/g, `${t.words}/train.jsonl`], [/data\/tasks\/demo-mood\/train\.jsonl/g, `${t.choices}/train.jsonl`]);
  const blocks = GUIDE.flatMap((p) => parseBlocks(p, readFileSync(p, "utf8"))).filter((b) => RUNNABLE.has(b.lang));
  await walk(ctx, blocks);
  assert.deepEqual(await stopServers(ctx), [0], "sprig serve stops cleanly on SIGTERM");
  // the guide shows both workflows: clusters of both types, fine-tunes, endpoints, traffic, (de)activation
  const ran = ctx.ran.map((b) => b.code).join("\n");
  for (const must of ["cluster create --type FINE_TUNING", "data put", "model finetune", "cluster create --type HOSTING", "endpoint create", "/v1/chat/completions", "/actions/generateText", "endpoint deactivate", "endpoint activate", "key revoke", "model import"])
    assert.ok(ran.includes(must), `the guide runs an example of '${must}'`);
  assert.ok(ctx.ran.length >= 40, summary(ctx));
  process.stdout.write(`# guide: ${summary(ctx)}\n`);
});
