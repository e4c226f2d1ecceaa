// The web console in a real browser (Debian's Chromium through playwright-core) against the real service
// with worker processes and the tiny fixture model: sign in, create both clusters, upload data (a bad file
// shows its line errors), fine-tune T-Few and watch its curve, create endpoints, stream side by side,
// deactivate an endpoint and see its requests refused, reactivate. Skips when Chromium is missing.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type ConsoleHarness, browserMissing, consoleHarness } from "../../tools/console/harness.ts";
import {
  SLOW,
  createCluster,
  createEndpoint,
  fineTune,
  go,
  sideBySide,
  signIn,
  toggleEndpoint,
  upload,
  waitState,
  waitText,
} from "../../tools/console/flow.ts";

const TINY = join(process.cwd(), "test/fixtures/models/tiny-llama");
const missing = browserMissing();
if (missing) console.log(`# skipping the console browser tests: ${missing}`);

const dataset = (n: number) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ prompt: `Q${i % 5}:`, completion: ` A${(i * 3) % 7}` })).join("\n") + "\n";

let h: ConsoleHarness;
before(async () => {
  if (!missing) h = await consoleHarness({ baseModelDir: TINY });
});
after(async () => {
  await h?.close();
});

test("both seed workflows in the console alone", { skip: missing ?? false, timeout: 5 * 60_000 }, async () => {
  const page = h.page;
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(e.message));

  // sign in: a wrong key is refused with the API's words, the right one opens the clusters page
  await signIn(page, "sprig_not-a-key", h.compartment);
  await page.getByRole("alert").filter({ hasText: "the API key is not valid" }).waitFor();
  await page.getByLabel("API key").fill(h.key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { level: 1, name: "Dedicated AI clusters" }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem("sprig.apiKey")), h.key, "the key is kept in the tab's session");
  assert.equal(await page.evaluate(() => localStorage.length), 0, "and nowhere that outlives it");

  await createCluster(page, { name: "ft-cluster", type: "FINE_TUNING" });
  await createCluster(page, { name: "host-cluster", type: "HOSTING" });
  const ft = page.getByRole("table", { name: "Clusters" }).getByRole("row").filter({ hasText: "ft-cluster" });
  assert.match(await ft.innerText(), /FINE_TUNING\s+SPRIG_CPU_SMALL/);
  // where its unit runs: the node and the reserved core, once the reservation is made
  await ft
    .locator("td.runs-on")
    .filter({ hasText: /: core \d+/ })
    .waitFor();

  // training data: a good file (picked) and a bad one (dropped) with its bad lines by number
  await go(page, "data", "Training data");
  await upload(page, "good.jsonl", dataset(40));
  await page.getByRole("status").filter({ hasText: "good.jsonl: 40 examples, ready to fine-tune" }).waitFor();
  await upload(page, "bad.jsonl", `${dataset(33)}{"prompt": 1}\nnot json\n`, "drop");
  const errors = page.getByRole("table", { name: "Errors in bad.jsonl" });
  await errors.waitFor();
  const lines = await errors.getByRole("row").allInnerTexts();
  assert.equal(lines.length, 3, lines.join(" | "));
  assert.match(lines[1]!, /^34\s+missing "completion"/);
  assert.match(lines[2]!, /^35\s+not valid JSON/);
  await page.getByRole("alert").filter({ hasText: "2 bad lines in the training data; nothing was trained" }).waitFor();
  await waitText(page.getByRole("table", { name: "Objects" }).locator("tbody"), /^bad\.jsonl\s[\s\S]*\ngood\.jsonl\s/);

  // fine-tune T-Few on the tiny model; the model page draws the curve while it trains and ends ACTIVE
  await go(page, "models", "Models");
  const form = page.getByRole("form", { name: "Create custom model" });
  await waitText(form.locator('input[name="earlyStoppingPatience"]'), "15", { value: true }); // the defaults are shown
  // epochs, learning rate and batch size default to "auto" (resolved from the dataset): an empty field saying so
  assert.equal(await form.locator('input[name="learningRate"]').getAttribute("placeholder"), "auto");
  assert.equal(await form.locator('input[name="learningRate"]').inputValue(), "");
  await form.getByLabel("Method").selectOption({ label: "LoRA" });
  await waitText(form.locator('input[name="loraR"]'), "8", { value: true }); // LoRA's own fields appear with their defaults
  assert.equal(await form.locator('input[name="trainingBatchSize"]').getAttribute("placeholder"), "auto");
  await form.getByLabel("Method").selectOption({ label: "T-Few" });
  assert.equal(await form.locator('input[name="loraR"]').count(), 0);
  const modelId = await fineTune(page, {
    name: "tfew-1",
    object: "good.jsonl",
    hyper: { totalTrainingEpochs: 3, trainingBatchSize: 8, logModelMetricsIntervalInSteps: 2 },
  });
  const loss = page.getByRole("figure", { name: "Loss" });
  await loss.locator("canvas").first().waitFor({ timeout: SLOW });
  await page.locator("h1 .state", { hasText: /^ACTIVE$/ }).waitFor({ timeout: SLOW });
  assert.match(await page.getByTestId("step").innerText(), /^12 \/ 12$/);
  assert.equal(await loss.getAttribute("data-points"), "12", "one point per step");
  assert.equal(await loss.getAttribute("data-series"), "train loss: 12, validation loss: 6");
  assert.equal(await page.getByRole("figure", { name: "Validation accuracy" }).getAttribute("data-series"), "validation accuracy: 6");
  const results = await page.getByRole("region", { name: "Results" }).innerText();
  assert.match(results, /Final accuracy\s+\d+(\.\d)?%/);
  assert.match(results, /Trainable parameters\s+[\d,]+ \([\d.]+% of the base model's [\d,]+\)/);
  assert.match(
    results,
    /Size on disk\s+[\d.]+ (B|KiB) \([\d.]+% of the base model's [\d.]+ (KiB|MiB)\)/,
    "the adapter is a small part of the base",
  );
  assert.match(await page.getByRole("region", { name: "Event log" }).innerText(), /succeeded: accuracy/);

  // endpoints for the base and the custom model on the hosting cluster
  await go(page, "endpoints", "Endpoints");
  await createEndpoint(page, { name: "ep-base", model: "tiny-llama (BASE)" });
  await createEndpoint(page, { name: "ep-tfew", model: "tfew-1 (CUSTOM)" });

  // the playground streams both answers side by side
  await go(page, "playground", "Playground");
  const streamed = page.waitForResponse((r) => r.url().endsWith("/v1/chat/completions"));
  const cols = await sideBySide(page, { endpoints: ["ep-base", "ep-tfew"], prompt: "Q1:", maxTokens: 6 });
  assert.match((await streamed).headers()["content-type"] ?? "", /^text\/event-stream/);
  for (const c of cols) {
    assert.equal(await c.locator(".answer").getAttribute("data-state"), "done");
    assert.match(await c.innerText(), /finished: (stop|length)/);
  }

  // deactivate: its requests are refused with the API's words, the other endpoint still answers
  await go(page, "endpoints", "Endpoints");
  await toggleEndpoint(page, "ep-tfew", "INACTIVE");
  await go(page, "playground", "Playground");
  const [refused, served] = await sideBySide(page, { endpoints: ["ep-tfew", "ep-base"], prompt: "Q2:", maxTokens: 4 });
  assert.match(
    await refused!.getByRole("alert").innerText(),
    /IncorrectState \(409\) endpoint \S+ is INACTIVE: activate it to serve requests/,
  );
  assert.match(await served!.innerText(), /finished:/);
  await go(page, "endpoints", "Endpoints");
  const tfewRow = page.getByRole("table", { name: "Endpoints" }).getByRole("row").filter({ hasText: "ep-tfew" });
  // one generation served, one request refused
  await waitText(tfewRow, /INACTIVE[\s\S]*Activate\s+1\s+\S+ \/ \S+\s+1\s/);

  // reactivate: it answers again
  await toggleEndpoint(page, "ep-tfew", "ACTIVE");
  await go(page, "playground", "Playground");
  const [again] = await sideBySide(page, { endpoints: ["ep-tfew"], prompt: "Q3:", maxTokens: 4 });
  assert.match(await again!.innerText(), /finished:/);

  // a refusal from the API shows as it is worded: a cluster with endpoints cannot be deleted
  await go(page, "clusters", "Dedicated AI clusters");
  page.once("dialog", (d) => void d.accept());
  await page
    .getByRole("table", { name: "Clusters" })
    .getByRole("row")
    .filter({ hasText: "host-cluster" })
    .getByRole("button", { name: "Delete" })
    .click();
  await page
    .getByRole("alert")
    .filter({ hasText: /^Conflict \(409\) dedicated AI cluster \S+ still has 2 endpoint\(s\): delete them first$/ })
    .waitFor();
  await waitState(page, "Clusters", "host-cluster", "ACTIVE");

  // work requests: the fine-tune's operation with its logs
  await go(page, "work-requests", "Work requests");
  const wr = await waitState(page, "Work requests", "CREATE_MODEL", "SUCCEEDED");
  assert.match(await wr.innerText(), new RegExp(`100%[\\s\\S]*Model …${modelId.slice(-8)}`));
  await wr.getByRole("button", { name: "Errors and logs" }).click();
  await page.getByText("fine-tune succeeded").first().waitFor();

  assert.deepEqual(problems, [], "no script errors in the page");
});
