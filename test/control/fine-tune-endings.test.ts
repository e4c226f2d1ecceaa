// A fine-tune's endings (control/fine-tunes.ts ENDINGS): an exception while recording one is handled — the
// job and its model end FAILED with the reason, the work request FAILED, and the cluster goes on to the next job.

import assert from "node:assert/strict";
import { test } from "node:test";
import { A, activeCluster, harness, upload, waitModel } from "./helpers.ts";

test("an ending that throws leaves the model FAILED with the reason, and the next job still runs", async () => {
  const h = await harness();
  try {
    const base = await h.cp.models.create(A, {
      compartmentId: "compA",
      modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: "test/fixtures/models/tiny-llama" },
    });
    const ftc = await activeCluster(h, "FINE_TUNING");
    const details = {
      compartmentId: "compA",
      baseModelId: base.value.id,
      fineTuneDetails: { dedicatedAiClusterId: ftc.id, trainingDataset: await upload(h) },
    };
    const jobs = h.store.fineTunes;
    const setState = jobs.setState.bind(jobs);
    let refuse = 1;
    jobs.setState = ((id: string, state: string, ...rest: unknown[]) => {
      if (state === "SUCCEEDED" && refuse-- > 0) throw new Error("disk I/O error");
      return (setState as (...a: unknown[]) => unknown)(id, state, ...rest);
    }) as typeof jobs.setState;
    const first = await h.cp.models.create(A, details);
    const failed = await waitModel(h, first.value.id, "FAILED");
    assert.match(failed.lifecycleDetails ?? "", /outcome could not be recorded: disk I\/O error/);
    const wr = await h.cp.getWorkRequest(A, first.workRequestId!);
    assert.equal(wr.status, "FAILED");
    assert.equal((await jobs.job(first.value.id))?.state, "FAILED");
    // the unit was given back: the next job on the cluster runs and succeeds
    const second = await h.cp.models.create(A, details);
    await waitModel(h, second.value.id, "ACTIVE");
  } finally {
    await h.store.close();
  }
});
