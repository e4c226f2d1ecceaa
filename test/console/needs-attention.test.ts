// The console renders NEEDS_ATTENTION: a cluster in that state shows its state badge and the reason
// (lifecycleDetails) on the clusters page, in a real browser. Skips when Chromium is missing.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type ConsoleHarness, browserMissing, consoleHarness } from "../../tools/console/harness.ts";
import { signIn } from "../../tools/console/flow.ts";
import { until } from "../control/fakes.ts";

const missing = browserMissing();
if (missing) console.log(`# skipping the console browser tests: ${missing}`);

let h: ConsoleHarness;
before(async () => {
  if (!missing) h = await consoleHarness({ baseModelDir: join(process.cwd(), "test/fixtures/models/tiny-llama") });
});
after(async () => {
  await h?.close();
});

test("the clusters page shows NEEDS_ATTENTION with its reason", { skip: missing ?? false, timeout: 120_000 }, async () => {
  const scope = { compartments: [h.compartment] };
  const c = await h.svc.control.clusters.create(scope, {
    compartmentId: h.compartment,
    type: "FINE_TUNING",
    unitCount: 1,
    displayName: "sick",
  });
  await until(async () => (await h.svc.store.clusters.get(c.value.id))?.value.lifecycleState === "ACTIVE", "cluster ACTIVE");
  // what start-up does when a unit's cores are gone (control-plane.ts repairReservations), on the stored row
  const row = (await h.svc.store.clusters.get(c.value.id))!;
  const reason = "1 of 1 units have no reserved cores and do not run: no room on any node";
  await h.svc.store.clusters.update({ ...row.value, lifecycleState: "NEEDS_ATTENTION", lifecycleDetails: reason });

  const page = h.page;
  await signIn(page, h.key, h.compartment);
  const r = page.getByRole("table", { name: "Clusters" }).getByRole("row").filter({ hasText: "sick" });
  await r.locator(".state-needs_attention").filter({ hasText: "NEEDS_ATTENTION" }).waitFor();
  assert.match(await r.innerText(), new RegExp(`NEEDS_ATTENTION\\s+${reason}`));
});
