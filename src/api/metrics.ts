// Prometheus metrics at /metrics: HTTP requests and latency, tokens per endpoint, and per hosting cluster
// the queue length and memory of the base model and of each endpoint's model (read at scrape time).

import type { FastifyInstance } from "fastify";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { ControlPlane, InferenceCounters, InferenceResult } from "../control/index.ts";

export class Metrics implements InferenceCounters {
  readonly registry = new Registry();
  private readonly requests = new Counter({ name: "sprig_http_requests_total", help: "HTTP requests", labelNames: ["method", "route", "status"], registers: [this.registry] });
  private readonly latency = new Histogram({
    name: "sprig_http_request_duration_seconds",
    help: "HTTP request latency",
    labelNames: ["method", "route"],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  private readonly tokens = new Counter({ name: "sprig_tokens_total", help: "tokens processed", labelNames: ["endpoint", "kind"], registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "sprig_process_" });
  }

  onResult(endpointId: string, r: InferenceResult): void {
    this.tokens.inc({ endpoint: endpointId, kind: "prompt" }, r.promptTokens);
    this.tokens.inc({ endpoint: endpointId, kind: "completion" }, r.ids.length);
  }

  /** Gauges read from the running pools at scrape time. */
  watch(cp: ControlPlane): void {
    // one stats round-trip to the workers per scrape, shared by the gauges (prom-client collects them in parallel)
    let pending: ReturnType<ControlPlane["inference"]["stats"]> | null = null;
    const fresh = () =>
      (pending ??= cp.inference.stats().finally(() =>
        setImmediate(() => {
          pending = null;
        }),
      ));
    new Gauge({
      name: "sprig_queue_length",
      help: "requests waiting in a hosting cluster",
      labelNames: ["cluster"],
      registers: [this.registry],
      async collect() {
        const stats = await fresh();
        this.reset();
        for (const [cluster, s] of Object.entries(stats)) this.set({ cluster }, s.queueLength);
      },
    });
    new Gauge({
      name: "sprig_model_memory_bytes",
      help: "memory per served model: 'base' is the shared base weights, others are endpoints (adapter rows or full models)",
      labelNames: ["cluster", "model"],
      registers: [this.registry],
      async collect() {
        const stats = await fresh();
        this.reset();
        for (const [cluster, s] of Object.entries(stats)) for (const [model, b] of Object.entries(s.memoryBytes)) this.set({ cluster, model }, b);
      },
    });
    new Gauge({
      name: "sprig_cluster_replicas",
      help: "running worker processes per hosting cluster",
      labelNames: ["cluster"],
      registers: [this.registry],
      async collect() {
        const stats = await fresh();
        this.reset();
        for (const [cluster, s] of Object.entries(stats)) this.set({ cluster }, s.replicas);
      },
    });
  }

  install(app: FastifyInstance): void {
    app.addHook("onResponse", async (req, reply) => {
      const route = req.routeOptions.url ?? "unmatched";
      this.requests.inc({ method: req.method, route, status: String(reply.statusCode) });
      this.latency.observe({ method: req.method, route }, reply.elapsedTime / 1000);
    });
    app.get("/metrics", { config: { auth: false } }, async (_req, reply) => {
      reply.header("content-type", this.registry.contentType);
      return this.registry.metrics();
    });
  }
}
