// Prometheus metrics: HTTP requests (aborted ones too) and latency, requests in flight, tokens, and the
// hosting clusters' queue length, replicas and model memory (read at scrape time). Served only on a
// listener of its own that the operator opts into (`sprig serve --metrics-port`), never on the API port.
// Labels name no tenant's resources (endpoint and cluster ids) unless the operator asks (`perTenant`).

import { type Server, createServer } from "node:http";
import type { FastifyInstance } from "fastify";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { z } from "zod";
import { type ControlPlane, type InferenceCounters, type InferenceResult, ServiceError } from "../control/index.ts";
import { plainErrorResponse } from "./errors.ts";

export const MetricsOptionsSchema = z.strictObject({
  /** label series by endpoint and cluster id (every tenant's ids on one page); otherwise totals */
  perTenant: z.boolean().default(false),
});
export type MetricsOptionsInput = z.input<typeof MetricsOptionsSchema>;

export class Metrics implements InferenceCounters {
  readonly registry = new Registry();
  readonly perTenant: boolean;
  private readonly requests = new Counter({
    name: "sprig_http_requests_total",
    help: "HTTP requests (status 'aborted': the client went away first)",
    labelNames: ["method", "route", "status"],
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: "sprig_http_request_duration_seconds",
    help: "HTTP request latency",
    labelNames: ["method", "route"],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  private readonly inFlight = new Gauge({
    name: "sprig_http_requests_in_flight",
    help: "HTTP requests being served",
    registers: [this.registry],
  });
  private readonly tokens: Counter;

  constructor(input: MetricsOptionsInput = {}) {
    this.perTenant = MetricsOptionsSchema.parse(input).perTenant;
    this.tokens = new Counter({
      name: "sprig_tokens_total",
      help: "tokens processed",
      labelNames: this.perTenant ? ["endpoint", "kind"] : ["kind"],
      registers: [this.registry],
    });
    collectDefaultMetrics({ register: this.registry, prefix: "sprig_process_" });
  }

  onResult(endpointId: string, r: InferenceResult): void {
    const who = this.perTenant ? { endpoint: endpointId } : {};
    this.tokens.inc({ ...who, kind: "prompt" }, r.promptTokens);
    this.tokens.inc({ ...who, kind: "completion" }, r.ids.length);
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
    const per = this.perTenant;
    new Gauge({
      name: "sprig_queue_length",
      help: "requests waiting in the hosting clusters",
      labelNames: per ? ["cluster"] : [],
      registers: [this.registry],
      async collect() {
        const stats = Object.entries(await fresh());
        this.reset();
        if (per) for (const [cluster, s] of stats) this.set({ cluster }, s.queueLength);
        else this.set(stats.reduce((a, [, s]) => a + s.queueLength, 0));
      },
    });
    new Gauge({
      name: "sprig_model_memory_bytes",
      help: "memory of served models per replica: 'base' is the shared base weights, the others endpoints' adapter rows or full models ('custom' in total)",
      labelNames: per ? ["cluster", "model"] : ["model"],
      registers: [this.registry],
      async collect() {
        const stats = Object.entries(await fresh());
        this.reset();
        const total = { base: 0, custom: 0 };
        for (const [cluster, s] of stats)
          for (const [model, b] of Object.entries(s.memoryBytes)) {
            if (per) this.set({ cluster, model }, b);
            else total[model === "base" ? "base" : "custom"] += b;
          }
        if (!per) for (const [model, b] of Object.entries(total)) this.set({ model }, b);
      },
    });
    new Gauge({
      name: "sprig_cluster_replicas",
      help: "running worker processes of the hosting clusters",
      labelNames: per ? ["cluster"] : [],
      registers: [this.registry],
      async collect() {
        const stats = Object.entries(await fresh());
        this.reset();
        if (per) for (const [cluster, s] of stats) this.set({ cluster }, s.replicas);
        else this.set(stats.reduce((a, [, s]) => a + s.replicas, 0));
      },
    });
  }

  /** Count every request of `app` once it ends: answered (its status) or abandoned by the client ("aborted"). */
  install(app: FastifyInstance): void {
    app.addHook("onRequest", async (req, reply) => {
      this.inFlight.inc();
      const t0 = performance.now();
      // 'close' comes for every response, finished or cut off, even when a stream writes the raw socket
      reply.raw.once("close", () => {
        this.inFlight.dec();
        const route = req.routeOptions.url ?? "unmatched";
        this.requests.inc({ method: req.method, route, status: reply.raw.writableEnded ? String(reply.raw.statusCode) : "aborted" });
        this.latency.observe({ method: req.method, route }, (performance.now() - t0) / 1000);
      });
    });
  }

  /** Serve `GET /metrics` on a listener of its own; resolves with its URL and a close function. */
  async listen(port: number, host = "127.0.0.1"): Promise<{ url: string; close(): Promise<void> }> {
    const server: Server = createServer((req, res) => {
      const fail = (e: ServiceError) => {
        const r = plainErrorResponse(e);
        res.writeHead(r.status, { "content-type": r.contentType }).end(r.body);
      };
      if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics")
        return fail(new ServiceError(404, "NotAuthorizedOrNotFound", "this listener serves GET /metrics only"));
      this.registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": this.registry.contentType }).end(text),
        (e: Error) => fail(new ServiceError(500, "InternalServerError", `metrics failed: ${e.message}`)),
      );
    });
    await new Promise<void>((res, rej) => server.once("error", rej).listen(port, host, () => res()));
    const addr = server.address();
    return {
      url: `http://${host}:${typeof addr === "object" && addr ? addr.port : port}/metrics`,
      close: () => new Promise<void>((res) => server.close(() => res())),
    };
  }
}
