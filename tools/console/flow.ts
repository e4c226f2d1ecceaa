// The console's user flows as browser steps (what a person clicks and types), shared by the browser
// tests and the screenshot script so both walk the same pages the same way.

import type { Locator, Page } from "playwright-core";

/** Generous: fine-tunes and model loads run in worker processes on a shared CI machine. */
export const SLOW = 120_000;

const row = (page: Page, table: string, text: string): Locator =>
  page.getByRole("table", { name: table }).getByRole("row").filter({ hasText: text });

/** Wait until a locator's text (or an input's value) matches: pages fill in as their polls answer. */
export async function waitText(l: Locator, want: RegExp | string, o: { value?: boolean; timeout?: number } = {}): Promise<string> {
  const deadline = Date.now() + (o.timeout ?? SLOW);
  const ok = (t: string) => (typeof want === "string" ? t === want : want.test(t));
  for (;;) {
    const t = o.value ? await l.inputValue() : await l.innerText();
    if (ok(t)) return t;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${want} (last seen: ${JSON.stringify(t)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function go(page: Page, hash: string, heading: string): Promise<void> {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: heading, exact: true }).click();
  await page.waitForURL(new RegExp(`#/${hash}$`));
  await page.getByRole("heading", { level: 1, name: heading }).waitFor();
}

/** Sign in with the keyboard only: type into each field, Tab between them, Enter submits. */
export async function signIn(page: Page, key: string, compartment: string): Promise<void> {
  await page.goto("/console");
  await page.getByLabel("API key").focus();
  await page.keyboard.type(key);
  await page.keyboard.press("Tab");
  await page.keyboard.type(compartment);
  await page.keyboard.press("Enter");
}

export async function waitState(page: Page, table: string, text: string, state: string, timeout = SLOW): Promise<Locator> {
  const r = row(page, table, text);
  await r.locator(".state", { hasText: new RegExp(`^${state}$`) }).waitFor({ timeout });
  return r;
}

export async function createCluster(page: Page, o: { name: string; type: "FINE_TUNING" | "HOSTING"; units?: number }): Promise<void> {
  const form = page.getByRole("form", { name: "Create cluster" });
  await form.getByLabel("Name").fill(o.name);
  await form.getByLabel("Type").selectOption(o.type);
  await form.getByLabel("Units").fill(String(o.units ?? 1));
  await form.getByRole("button", { name: "Create cluster" }).click();
  await waitState(page, "Clusters", o.name, "ACTIVE");
}

/** Upload through the file picker, or by dropping the file on the drop zone. */
export async function upload(page: Page, name: string, text: string, how: "pick" | "drop" = "pick"): Promise<void> {
  if (how === "pick") {
    await page.locator('input[type="file"]').setInputFiles({ name, mimeType: "application/jsonl", buffer: Buffer.from(text) });
    return;
  }
  const dt = await page.evaluateHandle(
    ([n, t]) => {
      const d = new DataTransfer();
      d.items.add(new File([t!], n!, { type: "application/jsonl" }));
      return d;
    },
    [name, text],
  );
  await page.locator(".dropzone").dispatchEvent("drop", { dataTransfer: dt });
}

/** Fill the "Create custom model" form and start; resolves on the new model's page with its id. */
export async function fineTune(
  page: Page,
  o: { name: string; base?: string; object: string; method?: string; hyper?: Record<string, number> },
): Promise<string> {
  const form = page.getByRole("form", { name: "Create custom model" });
  await form.getByLabel("Name", { exact: true }).fill(o.name);
  if (o.base) await form.getByLabel("Base model").selectOption({ label: o.base });
  await form.getByLabel("Training data").selectOption(o.object);
  if (o.method) await form.getByLabel("Method").selectOption({ label: o.method });
  for (const [k, v] of Object.entries(o.hyper ?? {})) await form.locator(`input[name="${k}"]`).fill(String(v));
  await form.getByRole("button", { name: "Start fine-tuning" }).click();
  await page.waitForURL(/#\/models\/ocid1\./);
  return decodeURIComponent(page.url().split("#/models/")[1]!);
}

export async function createEndpoint(page: Page, o: { name: string; model: string }): Promise<void> {
  const form = page.getByRole("form", { name: "Create endpoint" });
  await form.getByLabel("Name").fill(o.name);
  await form.getByLabel("Model").selectOption({ label: o.model });
  await form.getByRole("button", { name: "Create endpoint" }).click();
  await waitState(page, "Endpoints", o.name, "ACTIVE");
}

/** Flip an endpoint's serving switch and wait for the state it leads to. */
export async function toggleEndpoint(page: Page, name: string, to: "ACTIVE" | "INACTIVE"): Promise<void> {
  await page.getByRole("switch", { name: `Serve ${name}` }).click();
  await waitState(page, "Endpoints", name, to);
}

/** Send one prompt to the named endpoints (checked in the list) and wait until every column finished. */
export async function sideBySide(
  page: Page,
  o: { endpoints: string[]; prompt: string; maxTokens?: number; temperature?: number; seed?: number },
): Promise<Locator[]> {
  const form = page.getByRole("form", { name: "Prompt" });
  for (const box of await form.getByRole("checkbox").all()) if (await box.isChecked()) await box.uncheck();
  for (const e of o.endpoints) await form.getByRole("checkbox", { name: new RegExp(`^${e} `) }).check();
  await form.getByLabel("Max tokens").fill(String(o.maxTokens ?? 16));
  await form.getByLabel("Temperature").fill(String(o.temperature ?? 0));
  if (o.seed !== undefined) await form.getByLabel("Seed").fill(String(o.seed));
  await form.getByLabel(/^(Message|Prompt)/).fill(o.prompt);
  await form.getByRole("button", { name: "Send" }).click();
  const cols = o.endpoints.map((e) => page.getByRole("region", { name: `Answer of ${e}` }));
  for (const c of cols) await c.locator('.answer:not([data-state="streaming"])').waitFor({ timeout: SLOW });
  return cols;
}
