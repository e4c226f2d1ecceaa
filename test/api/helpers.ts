// An in-process service with fake executors on a fresh data dir, and a key per compartment.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Service, type ServiceOptions, startService } from "../../src/api/service.ts";
import { FakeFineTune, FakeHosting } from "../control/fakes.ts";
import { FIXTURE_MODELS } from "../control/helpers.ts";

export interface ApiHarness {
  svc: Service;
  ft: FakeFineTune;
  hosting: FakeHosting;
  keyA: string;
  keyB: string;
  dir: string;
}

export async function apiHarness(o: Partial<ServiceOptions> = {}, dir = mkdtempSync(join(tmpdir(), "sprig-api-"))): Promise<ApiHarness> {
  const ft = new FakeFineTune();
  const hosting = new FakeHosting();
  const svc = await startService({ dataDir: dir, executors: { fineTune: ft, hosting }, ...o, control: { modelImportRoots: [FIXTURE_MODELS], ...o.control } });
  const keyA = svc.store.apiKeys.create(["compA"]).key;
  const keyB = svc.store.apiKeys.create(["compB"]).key;
  return { svc, ft, hosting, keyA, keyB, dir };
}

export const auth = (key: string) => ({ authorization: `Bearer ${key}` });
