// The hosting engine's configuration, validated at the boundary (unknown keys are rejected), with the
// defaults documented in src/serving/hosting/README.md.

import { z } from "zod";
import { WEIGHT_FORMATS } from "../../models/index.ts";

const modules = z.array(z.string().min(1)).min(1);

export const HostingOptionsSchema = z
  .object({
    /** rows in one session's running batch */
    maxBatchSize: z.number().int().min(1).max(4096).default(32),
    /**
     * T-Few (IA3) table rows besides the base's: the adapters hot at once (any number more can be active,
     * in host memory or on disk, taking a row when requested); 0 = no T-Few path in the graph
     */
    maxAdapters: z.number().int().min(0).max(1_000_000).default(256),
    ia3: z
      .object({
        /** modules with an IA3 table (PEFT matching); default: T-Few's (k_proj, v_proj, down_proj; GPT-2 c_attn, mlp.c_proj) */
        targetModules: modules.optional(),
        /** the subset whose input is scaled; default: the feed-forward down projection */
        feedforwardModules: z.array(z.string().min(1)).optional(),
      })
      .strict()
      .prefault({}),
    lora: z
      .object({
        /** LoRA table rows: the LoRA adapters hot at once (more can be active, as for T-Few); 0 = no LoRA path in the graph */
        maxAdapters: z.number().int().min(0).max(100_000).default(256),
        /** the largest LoRA rank served; higher ranks are refused */
        rank: z.number().int().min(1).max(1024).default(64),
        /**
         * rank buckets, ascending, the last one = `rank`: an adapter is zero-padded to the first bucket ≥ its
         * rank; each bucket adds one path per table module to every step. Default: 8, 16, 32, … up to `rank`
         */
        rankBuckets: z.array(z.number().int().min(1).max(1024)).min(1).max(16).optional(),
        /** modules with LoRA tables; default: q_proj, v_proj (GPT-2 c_attn), as PEFT and `sprig finetune` */
        targetModules: modules.optional(),
      })
      .strict()
      .prefault({}),
    /**
     * host-memory tier: bytes of decoded adapters that are active but have no table row; beyond it the least
     * recently used are dropped to disk and re-read from their directory on their next request
     */
    adapterHostBytes: z
      .number()
      .int()
      .min(0)
      .default(256 * 2 ** 20),
    /** full custom models (vanilla fine-tunes) hosted beside the base, each a whole model in memory */
    maxFullModels: z.number().int().min(0).max(64).default(2),
    /** KV-cache memory across all sessions; requests wait in the queue while it is used up */
    kvCacheBytes: z
      .number()
      .int()
      .min(1)
      .default(1 << 30),
    /** requests waiting for a batch slot, over all models; beyond it submit fails with 503 queue_full */
    maxQueue: z.number().int().min(0).default(256),
    /** waiting requests of one model; beyond it submit fails with 429 model_queue_full (default: half of maxQueue) */
    maxQueuePerModel: z.number().int().min(0).optional(),
    /** padded prompt tokens per batched prefill step while no row is decoding (a longer prompt is chunked) */
    maxPrefillTokens: z.number().int().min(1).default(2048),
    /**
     * padded prompt tokens per prefill step while rows are decoding: a longer prompt is prefilled in chunks,
     * one per step, each followed by a decode step, so it does not stall the running rows. On a CPU each
     * prompt token costs a few ms of compute while a decode step is bound by reading the weights, so the chunk
     * sets how much slower streams get while a long prompt arrives against that prompt's TTFT (32: see
     * src/serving/hosting/README.md, "Chunked prefill")
     */
    prefillChunkTokens: z.number().int().min(1).default(32),
    prefixCache: z
      .object({
        /** tokens per cached block: a prompt's cached head is a whole number of blocks */
        blockTokens: z.number().int().min(1).max(4096).default(16),
        /**
         * memory for cached prefix K/V over all sessions, beside kvCacheBytes (LRU); 0 = no prefix cache.
         * Default: a quarter of kvCacheBytes, at most 256 MiB
         */
        bytes: z.number().int().min(0).optional(),
      })
      .strict()
      .prefault({}),
    /**
     * how the base projections of the base and of full custom models are stored: f32 as loaded, or int8 / int4
     * weight-only (MatMulNBits; norms, embeddings, the LM head and adapters stay float32)
     */
    weights: z.enum(WEIGHT_FORMATS).default("f32"),
    /** compute threads per session (default: all cores) */
    threads: z.number().int().min(1).optional(),
    /**
     * let idle compute threads spin-wait between kernels (ONNX Runtime's default). Off by default: on the
     * 2-core development machine, shared with other work, decode steps ran 2× faster without spinning
     */
    spinThreads: z.boolean().default(false),
    /**
     * where the step sessions run: "worker" (a worker thread per session, KV cache and adapter tables in
     * shared memory, mirrored there) keeps the event loop free during a step, so activation, admission,
     * cancellation and streaming answer at once; "main" runs them on the JS thread (no mirrors)
     */
    stepThread: z.enum(["worker", "main"]).default("worker"),
  })
  .strict()
  .superRefine((o, ctx) => {
    const b = o.lora.rankBuckets;
    if (!b) return;
    if (b.some((x, i) => i > 0 && x <= b[i - 1]!))
      ctx.addIssue({ code: "custom", path: ["lora", "rankBuckets"], message: "must be strictly ascending" });
    if (b[b.length - 1] !== o.lora.rank)
      ctx.addIssue({ code: "custom", path: ["lora", "rankBuckets"], message: `the last bucket must equal lora.rank (${o.lora.rank})` });
  });

export type HostingOptions = z.infer<typeof HostingOptionsSchema>;
export type HostingOptionsInput = z.input<typeof HostingOptionsSchema>;
