// A live service for driving the web console in a real browser: `sprig serve`'s stack (worker processes)
// on a fresh data directory with one base model registered for every compartment, an API key, and
// Debian's Chromium through playwright-core (no browser download). Used by test/console and the
// screenshot script.

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, type Page, chromium } from "playwright-core";
import { type Service, startService } from "../../src/api/service.ts";

export const CHROMIUM = process.env.SPRIG_CHROMIUM ?? "/usr/bin/chromium";

/** Why browser tests cannot run here, or null when they can. */
export function browserMissing(): string | null {
  return existsSync(CHROMIUM) ? null : `no Chromium at ${CHROMIUM}: install Debian's (apt-get install chromium) or set SPRIG_CHROMIUM`;
}

export interface ConsoleHarness {
  svc: Service;
  url: string;
  key: string;
  compartment: string;
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export async function consoleHarness(o: {
  baseModelDir: string;
  compartment?: string;
  viewport?: { width: number; height: number };
}): Promise<ConsoleHarness> {
  const dataDir = mkdtempSync(join(tmpdir(), "sprig-console-"));
  const profile = mkdtempSync(join(tmpdir(), "sprig-chromium-"));
  const svc = await startService({ dataDir, control: { defaultBaseModelDir: o.baseModelDir } });
  const url = await svc.listen(0);
  const compartment = o.compartment ?? "team-a";
  const key = (await svc.store.apiKeys.create([compartment])).key;
  // a fresh profile (playwright passes it as --user-data-dir) and no background traffic: the browser talks to 127.0.0.1 only
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: o.viewport ?? { width: 1360, height: 900 },
    baseURL: url,
  });
  const page = await context.newPage();
  return {
    svc,
    url,
    key,
    compartment,
    context,
    page,
    async close() {
      await context.close().catch(() => undefined);
      await svc.close();
      rmSync(profile, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
