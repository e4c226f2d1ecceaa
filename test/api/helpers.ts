// An in-process service with fake executors on a fresh data dir, and a key per compartment.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Service, type ServiceOptions, startService } from "../../src/api/service.ts";
import { FakeFineTune, FakeHosting } from "../control/fakes.ts";
import { FAKE_NODE } from "../control/helpers.ts";

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
  // fake executors run nothing on real cores: a roomy node whose cores are only accounted
  const svc = await startService({ dataDir: dir, executors: { fineTune: ft, hosting }, node: FAKE_NODE, ...o });
  const keyA = svc.store.apiKeys.create(["compA"]).key;
  const keyB = svc.store.apiKeys.create(["compB"]).key;
  return { svc, ft, hosting, keyA, keyB, dir };
}

export const auth = (key: string) => ({ authorization: `Bearer ${key}` });
