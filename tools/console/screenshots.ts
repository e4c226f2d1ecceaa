// `npm run docs:screenshots`: walks the console in Chromium against a live service with the bundled base
// model and the bundled demo-mood task, and writes the screenshots docs/console.md shows
// (docs/console/*.png). Run it after changing a page. Needs /usr/bin/chromium (or SPRIG_CHROMIUM).

import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { DEMO_EPOCHS, DEMO_LEARNING_RATE } from "../../src/demo/run.ts";
import { SLOW, createCluster, createEndpoint, fineTune, go, sideBySide, signIn, toggleEndpoint, upload } from "./flow.ts";
import { browserMissing, consoleHarness } from "./harness.ts";

const OUT = "docs/console";
const BASE = join(process.cwd(), "models/sprig-base");
const TASK = "data/tasks/demo-mood";

async function shot(page: Page, name: string): Promise<void> {
  await page.waitForTimeout(400); // let the last poll's render settle
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
  console.log(`wrote ${OUT}/${name}.png`);
}

async function main(): Promise<void> {
  const missing = browserMissing();
  if (missing) throw new Error(missing);
  mkdirSync(OUT, { recursive: true });
  const h = await consoleHarness({ baseModelDir: BASE, viewport: { width: 1280, height: 800 } });
  const page = h.page;
  try {
    await signIn(page, h.key, h.compartment);
    await page.getByRole("heading", { level: 1, name: "Dedicated AI clusters" }).waitFor();
    await createCluster(page, { name: "tuning", type: "FINE_TUNING" });
    await createCluster(page, { name: "serving", type: "HOSTING" });
    await shot(page, "clusters");

    await go(page, "data", "Training data");
    const train = readFileSync(join(TASK, "train.jsonl"), "utf8");
    await upload(page, "mood-train.jsonl", train);
    await page.getByRole("status").waitFor();
    const lines = train.split("\n").filter(Boolean);
    await upload(
      page,
      "mood-broken.jsonl",
      [...lines.slice(0, 40), '{"prompt": "Story: …", "label": 1}', lines[41]!.slice(0, 60), ...lines.slice(42, 50)].join("\n") + "\n",
    );
    await page.getByRole("table", { name: "Errors in mood-broken.jsonl" }).waitFor();
    await shot(page, "training-data");

    await go(page, "models", "Models");
    await fineTune(page, {
      name: "mood-tfew",
      object: "mood-train.jsonl",
      hyper: { totalTrainingEpochs: DEMO_EPOCHS.choices, learningRate: DEMO_LEARNING_RATE, logModelMetricsIntervalInSteps: 4 },
    });
    await page.getByRole("figure", { name: "Loss" }).locator("canvas").first().waitFor({ timeout: SLOW });
    await page.locator("h1 .state", { hasText: /^ACTIVE$/ }).waitFor({ timeout: 10 * SLOW });
    await shot(page, "model");
    await go(page, "models", "Models");
    await shot(page, "models");

    await go(page, "endpoints", "Endpoints");
    await createEndpoint(page, { name: "mood-base", model: "sprig-base (BASE)" });
    await createEndpoint(page, { name: "mood-tfew", model: "mood-tfew (CUSTOM)" });

    await go(page, "playground", "Playground");
    await page.getByLabel("Mode").selectOption("completion");
    const test = JSON.parse(readFileSync(join(TASK, "test.jsonl"), "utf8").split("\n")[0]!) as { prompt: string };
    await sideBySide(page, { endpoints: ["mood-base", "mood-tfew"], prompt: test.prompt, maxTokens: 8, temperature: 0 });
    await shot(page, "playground");

    await go(page, "endpoints", "Endpoints");
    await toggleEndpoint(page, "mood-base", "INACTIVE");
    await shot(page, "endpoints");
    await go(page, "work-requests", "Work requests");
    await page.getByRole("row").filter({ hasText: "CREATE_MODEL" }).getByRole("button", { name: "Errors and logs" }).click();
    await page.getByText("fine-tune succeeded").first().waitFor();
    await shot(page, "work-requests");
  } finally {
    await h.close();
  }
}

await main();
