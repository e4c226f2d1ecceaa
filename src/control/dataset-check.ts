// Checking training data before anything trains: the same reader the fine-tune runs (training's
// parseDataset), against the tokenizer and vocabulary of the model it would train, so an upload's bad
// lines are reported with their numbers at once instead of as a FAILED fine-tune.

import { readFile } from "node:fs/promises";
import { z } from "zod";
import { type ModelConfig, type SprigTokenizer, loadHfConfig, loadTokenizer } from "../models/index.ts";
import { DataError, MIN_EXAMPLES, parseDataset } from "../training/index.ts";
import type { ControlContext, Scope } from "./context.ts";
import { fetchVisible, visible } from "./context.ts";
import { notFound } from "./errors.ts";
import { ObjectStorageDataset } from "./resources.ts";

export const ValidateTrainingDataDetails = z
  .strictObject({
    baseModelId: z
      .string()
      .min(1)
      .max(255)
      .describe("the model the data would fine-tune (its tokenizer and vocabulary decide what is valid)"),
    trainingDataset: ObjectStorageDataset,
  })
  .meta({ id: "ValidateTrainingDataDetails" });
export type ValidateTrainingDataDetails = z.infer<typeof ValidateTrainingDataDetails>;

export const TrainingDataValidation = z
  .object({
    /** true: a fine-tune of this model accepts the data */
    isValid: z.boolean(),
    /** valid examples found (all of them when isValid) */
    exampleCount: z.number().int(),
    /** fewest examples a fine-tune needs */
    minExamples: z.number().int(),
    /** what is wrong, in one sentence (null when valid) */
    message: z.string().nullable(),
    /** every bad line, by 1-based line number */
    errors: z.array(z.object({ line: z.number().int(), reason: z.string() })),
  })
  .meta({ id: "TrainingDataValidation" });
export type TrainingDataValidation = z.infer<typeof TrainingDataValidation>;

interface Vocab {
  config: ModelConfig;
  tokenizer: SprigTokenizer | null;
}

export class DatasetCheck {
  /** tokenizers by model directory: loading one costs more than checking a small file */
  private readonly vocabs = new Map<string, Promise<Vocab>>();

  constructor(private readonly ctx: ControlContext) {}

  async validate(scope: Scope, d: ValidateTrainingDataDetails): Promise<TrainingDataValidation> {
    const store = this.ctx.store;
    const { value: model } = await fetchVisible((x) => store.models.get(x), scope, "model", d.baseModelId);
    const ds = d.trainingDataset;
    const bucket = await store.objects.bucket(ds.namespaceName, ds.bucketName);
    const file =
      bucket && visible(scope, bucket.compartmentId) ? await store.objects.path(ds.namespaceName, ds.bucketName, ds.objectName) : null;
    if (!file) throw notFound("trainingDataset: object", `/n/${ds.namespaceName}/b/${ds.bucketName}/o/${ds.objectName}`);
    // the directory a fine-tune of this model reads its tokenizer from (fine-tunes.ts launch)
    const root = (await store.models.get(model.rootBaseModelId))?.value;
    const dir = model.artifactType === "FULL" ? model.artifactPath : (root?.artifactPath ?? null);
    if (!dir) throw notFound("baseModelId: model files of", model.id);
    const vocab = await this.vocab(dir);
    try {
      const examples = await parseDataset(await readFile(file), vocab);
      return { isValid: true, exampleCount: examples.length, minExamples: MIN_EXAMPLES, message: null, errors: [] };
    } catch (e) {
      if (!(e instanceof DataError)) throw e;
      return { isValid: false, exampleCount: e.validExamples ?? 0, minExamples: MIN_EXAMPLES, message: e.message, errors: e.lines };
    }
  }

  private vocab(dir: string): Promise<Vocab> {
    let v = this.vocabs.get(dir);
    if (!v) {
      v = loadHfConfig(dir).then((config) => ({ config, tokenizer: loadTokenizer(dir) }));
      v.catch(() => this.vocabs.delete(dir));
      this.vocabs.set(dir, v);
    }
    return v;
  }
}
