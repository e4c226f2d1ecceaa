// fineTuneDetails.validationDataset: checked like the training data at create (visible, exists), refused
// beside a validationSplit, and handed to the trainer as the job's validation file.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ServiceError } from "../../src/control/index.ts";
import { CreateModelDetails } from "../../src/control/requests.ts";
import { until } from "./fakes.ts";
import { A, TINY, activeCluster, harness, upload, waitModel } from "./helpers.ts";

test("fine-tune with a validationDataset: the job gets its file; a missing object is 404, a split beside it 400", async () => {
  const h = await harness();
  const base = await h.cp.models.create(A, { compartmentId: "compA", modelSource: { sourceType: "HUGGING_FACE_DIRECTORY", path: TINY } });
  const ftc = await activeCluster(h, "FINE_TUNING");
  const ds = await upload(h);
  const vs = await upload(h, A, "val.jsonl");
  const details = (validationDataset: typeof vs, trainingConfig?: object) =>
    CreateModelDetails.parse({
      compartmentId: "compA",
      baseModelId: base.value.id,
      fineTuneDetails: {
        dedicatedAiClusterId: ftc.id,
        trainingDataset: ds,
        validationDataset,
        ...(trainingConfig ? { trainingConfig } : {}),
      },
    });
  await assert.rejects(
    h.cp.models.create(A, details({ ...vs, objectName: "nope" })),
    (e: ServiceError) => e.status === 404 && /validationDataset/.test(e.message),
  );
  await assert.rejects(
    h.cp.models.create(A, details(vs, { trainingConfigType: "TFEW_TRAINING_CONFIG", validationSplit: 0.1 })),
    (e: ServiceError) => e.status === 400 && /validationSplit.*not both/.test(e.message),
  );
  const m = await h.cp.models.create(A, details(vs));
  await waitModel(h, m.value.id, "ACTIVE");
  await until(() => h.ft.started.length === 1, "job started");
  const spec = h.ft.started[0]!;
  assert.equal(spec.validationDataFile, await h.store.objects.path("ns", vs.bucketName, "val.jsonl"));
  assert.notEqual(spec.validationDataFile, spec.dataFile);
  assert.deepEqual(
    (await h.cp.models.get(A, m.value.id)).value.fineTuneDetails?.validationDataset,
    vs,
    "the model records its validation set",
  );
  // without one, the trainer holds out the split as before
  const plain = await h.cp.models.create(
    A,
    CreateModelDetails.parse({
      compartmentId: "compA",
      baseModelId: base.value.id,
      fineTuneDetails: { dedicatedAiClusterId: ftc.id, trainingDataset: ds },
    }),
  );
  await waitModel(h, plain.value.id, "ACTIVE");
  assert.equal(h.ft.started[1]!.validationDataFile, undefined);
  await h.store.close();
});
