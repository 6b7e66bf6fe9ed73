/**
 * Prometheus metrics (prom-client) for `GET /metrics`: counters and a latency
 * histogram on the call path, and gauges sampled at scrape time from the
 * components, so the hot path pays for one increment and one observation.
 * @module
 */
import client from "prom-client";

/** The peer's metrics. */
export interface Metrics {
  /** Starts timing one call; the returned function records its outcome. */
  invokeTimer(fn: string, where: "local" | "remote"): (outcome: string) => void;
  /** Counts one HTTP request to an API route. */
  httpRequest(route: string, status: number): void;
  /** Counts one call a peer refused before running it (`code`), sent on to another peer. */
  moved(fn: string, code: string): void;
  /** Registers a gauge read at scrape time. */
  gauge(name: string, help: string, read: () => number): void;
  /** The text exposition format. */
  render(): Promise<string>;
  /** Content type of {@linkcode Metrics.render}'s output. */
  readonly contentType: string;
}

/**
 * Creates a metrics registry of its own (not prom-client's global one), so
 * several peers can live in one process in tests.
 *
 * @example
 * ```ts
 * const metrics = createMetrics();
 * const end = metrics.invokeTimer("hello", "local");
 * end("ok");
 * ```
 */
export function createMetrics(): Metrics {
  const registry = new client.Registry();
  const calls = new client.Counter({
    name: "virgo_invocations_total",
    help: "Function calls by function, where they ran, and outcome (ok or an error code)",
    labelNames: ["fn", "where", "outcome"] as const,
    registers: [registry],
  });
  const latency = new client.Histogram({
    name: "virgo_invocation_seconds",
    help: "Time to the response head of function calls",
    labelNames: ["where"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
    registers: [registry],
  });
  const moved = new client.Counter({
    name: "virgo_invocations_moved_total",
    help:
      "Calls refused before they ran (overloaded, stopping, not a member) and sent to another peer",
    labelNames: ["fn", "code"] as const,
    registers: [registry],
  });
  const http = new client.Counter({
    name: "virgo_http_requests_total",
    help: "API requests by route and status",
    labelNames: ["route", "status"] as const,
    registers: [registry],
  });
  return {
    contentType: registry.contentType,
    invokeTimer(fn, where) {
      const t0 = performance.now();
      return (outcome) => {
        latency.observe({ where }, (performance.now() - t0) / 1000);
        calls.inc({ fn, where, outcome });
      };
    },
    httpRequest(route, status) {
      http.inc({ route, status: String(status) });
    },
    moved(fn, code) {
      moved.inc({ fn, code });
    },
    gauge(name, help, read) {
      new client.Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(read());
        },
      });
    },
    render: () => registry.metrics(),
  };
}
