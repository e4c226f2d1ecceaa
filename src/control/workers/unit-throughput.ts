// Measuring what one unit serves: start a hosting pool on given units (real worker processes, pinned or
// not), serve the base model, and drive it with closed-loop concurrent requests. The sizing helper
// (`sprig cluster size`) and the isolation bench (`npm run bench -- isolation`) both measure with this.

import { existsSync } from "node:fs";
import { join } from "node:path";
import type { HostingPool, InferenceSampling, PromptInput, UnitSpec } from "../executors.ts";
import { HostingPoolProcess } from "./hosting-pool.ts";

export const LOAD_ENDPOINT = "load";

export interface LoadShape {
  /** requests in flight at once (each starts the next as soon as it ends) */
  concurrency: number;
  /** new tokens per request */
  maxTokens: number;
}

export interface LoadResult {
  tokens: number;
  requests: number;
  seconds: number;
  tokensPerSecond: number;
}

/** A pool on `units` serving the base model of `modelDir` as endpoint LOAD_ENDPOINT. */
export async function loadPool(modelDir: string, units: UnitSpec[], clusterId = "measure"): Promise<HostingPoolProcess> {
  const pool = await HostingPoolProcess.start({ clusterId, baseModelDir: modelDir, units });
  await pool.activate(LOAD_ENDPOINT, { kind: "base" });
  return pool;
}

/** A prompt the model can take: text when it has a tokenizer, else token ids from BOS. */
export function loadPrompt(modelDir: string): PromptInput {
  return existsSync(join(modelDir, "tokenizer.json"))
    ? { kind: "text", text: "Once upon a time, in a small town by the sea," }
    : { kind: "ids", ids: [1] };
}

function sampling(maxTokens: number, seed: number): InferenceSampling {
  // sampled, not greedy, so requests differ; a stop at EOS only shortens a request (tokens are counted)
  return { maxTokens, temperature: 0.8, topP: 1, topK: 0, seed, stop: [], frequencyPenalty: 0, presencePenalty: 0 };
}

/** Keep `concurrency` requests in flight until stop(); then report the tokens served per second. */
export function drive(pool: HostingPool, prompt: PromptInput, load: LoadShape): { stop(): Promise<LoadResult> } {
  let running = true;
  let tokens = 0;
  let requests = 0;
  let seed = 1;
  const t0 = performance.now();
  const loops = Array.from({ length: load.concurrency }, async () => {
    while (running) {
      const r = await pool.generate({ endpointId: LOAD_ENDPOINT, prompt, sampling: sampling(load.maxTokens, seed++) }, {});
      tokens += r.ids.length;
      requests += 1;
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      const seconds = (performance.now() - t0) / 1000;
      return { tokens, requests, seconds, tokensPerSecond: tokens / seconds };
    },
  };
}

/** Drive for `seconds` (after a short warm-up) and report. */
export async function measure(pool: HostingPool, prompt: PromptInput, load: LoadShape, seconds: number): Promise<LoadResult> {
  await drive(pool, prompt, { ...load, concurrency: Math.min(2, load.concurrency) }).stop(); // warm-up: one round of requests
  const d = drive(pool, prompt, load);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  return d.stop();
}

/** Units a target load needs, from one unit's measured throughput, keeping `headroom` (0.2 = 20%) spare. */
export function unitsFor(targetTokensPerSecond: number, perUnitTokensPerSecond: number, headroom: number): number {
  if (!(perUnitTokensPerSecond > 0)) throw new Error("the unit served no tokens: nothing to size from");
  return Math.max(1, Math.ceil((targetTokensPerSecond * (1 + headroom)) / perUnitTokensPerSecond));
}
