/**
 * Prometheus metrics (prom-client) for `GET /metrics`: counters and per-function latency
 * histograms on the call path, and gauges sampled at scrape time from the components (the pool's
 * quorums, hinted-handoff backlog and rebalance progress, the process's RSS and CPU), so the hot
 * path pays for one increment and one observation.
 *
 * The same calls feed the dashboard's view ({@linkcode Metrics.functionStats},
 * {@linkcode Metrics.recentCalls}): per function the calls, failures and latency percentiles
 * over a bounded window of its latest calls, and a small ring of the latest calls with the peer
 * that ran each.
 *
 * Process metrics are our own gauges with the standard names (`process_resident_memory_bytes`,
 * `process_cpu_seconds_total`, …): prom-client's default collectors run on Deno, but their
 * event-loop lag reads NaN there and they start a monitor of their own.
 * @module
 */
import process from "node:process";
import client from "prom-client";
import type { Pool } from "../kv/mod.ts";
import { callSeries } from "./_call_series.ts";

/** How one call ended, for {@linkcode Metrics.invokeTimer}'s returned function. */
export interface CallEnd {
  /** The HTTP status the function answered (for a call that ran to a response). */
  status?: number;
  /** Why the call failed (for an outcome other than `ok`). */
  message?: string;
}

/** One call as the dashboard draws it: taken by this peer, run by `peer`. */
export interface CallRecord {
  /** When it ended, ms since the epoch. */
  at: number;
  fn: string;
  /** `local`: ran here; `remote`: handed to `peer`. */
  where: "local" | "remote";
  /** The peer that ran it (this peer's id is left out: undefined means here). */
  peer?: string;
  /** `ok` or the error code. */
  outcome: string;
  /** The function's HTTP status, when it answered. */
  status?: number;
  ms: number;
  requestId?: string;
}

/** One failed call of a function, as the dashboard lists it. */
export interface CallError {
  at: number;
  code: string;
  message: string;
  requestId?: string;
}

/** One function's calls as seen by this peer, over its latest calls. */
export interface FunctionStats {
  /** Calls that ended since the peer started. */
  calls: number;
  /** Of those, failed ones or answers of status 500 and above. */
  errors: number;
  /** Median latency to the response head over the latest calls (ms). */
  p50Ms: number;
  /** 99th percentile over the same window (ms). */
  p99Ms: number;
  /** The latest failures, newest first. */
  lastErrors: CallError[];
}

/** The peer's metrics. */
export interface Metrics {
  /**
   * Starts timing one call of `fn` (its id `requestId`); run here (`local`) or handed to
   * `peer` (`remote`). The returned function records its outcome.
   */
  invokeTimer(
    fn: string,
    where: "local" | "remote",
    requestId?: string,
    peer?: string,
  ): (outcome: string, end?: CallEnd) => void;
  /** Counts one HTTP request to an API route. */
  httpRequest(route: string, status: number): void;
  /** Counts one call a peer refused before running it (`code`), sent on to another peer. */
  moved(fn: string, code: string): void;
  /** Registers a gauge read at scrape time. */
  gauge(name: string, help: string, read: () => number | Promise<number>): void;
  /** Per function, its calls as seen by this peer (see {@linkcode FunctionStats}). */
  functionStats(): Map<string, FunctionStats>;
  /** The latest calls, oldest first (a bounded ring). */
  recentCalls(): CallRecord[];
  /** The text exposition format. */
  render(): Promise<string>;
  /** Content type of {@linkcode Metrics.render}'s output. */
  readonly contentType: string;
}

/** Options of {@linkcode createMetrics}. */
export interface MetricsOptions {
  /** The pool whose quorums, hints and rebalance progress are reported. */
  pool?: Pool;
  /** Calls kept for {@linkcode Metrics.recentCalls}. @default {200} */
  recentCalls?: number;
  /** Latest latencies per function over which p50/p99 are taken. @default {512} */
  window?: number;
}

/** Latest failures kept per function. */
const LAST_ERRORS = 5;
/** Functions tracked for the dashboard; the least recently called is forgotten past this. */
const MAX_TRACKED = 1000;

/** Per-function state behind {@linkcode FunctionStats}. */
interface Tracked {
  calls: number;
  errors: number;
  latencies: Float64Array;
  next: number;
  filled: number;
  lastErrors: CallError[];
}

/** The `q` quantile of `values` (sorted copy; nearest rank). */
function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/**
 * Creates a metrics registry of its own (not prom-client's global one), so
 * several peers can live in one process in tests.
 *
 * @example
 * ```ts
 * const metrics = createMetrics({ pool });
 * const end = metrics.invokeTimer("hello", "local", "req-1");
 * end("ok", { status: 200 });
 * ```
 */
export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = new client.Registry();
  const window = opts.window ?? 512;
  const ringSize = opts.recentCalls ?? 200;
  const calls = callSeries(registry);
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
  const gauge = (name: string, help: string, read: () => number | Promise<number>) =>
    new client.Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        this.set(await read());
      },
    });

  // The process, read at scrape time.
  const startedAt = Date.now() / 1000 - performance.now() / 1000;
  gauge(
    "process_resident_memory_bytes",
    "Resident memory of the peer process (RSS)",
    () => Deno.memoryUsage().rss,
  );
  gauge(
    "process_heap_bytes",
    "V8 heap used by the peer process",
    () => Deno.memoryUsage().heapUsed,
  );
  gauge(
    "process_start_time_seconds",
    "When the peer process started, s since the epoch",
    () => startedAt,
  );
  new client.Counter({
    name: "process_cpu_seconds_total",
    help: "CPU time of the peer process, user and system, in seconds",
    labelNames: ["mode"] as const,
    registers: [registry],
    collect() {
      const { user, system } = process.cpuUsage();
      this.reset();
      this.inc({ mode: "user" }, user / 1e6);
      this.inc({ mode: "system" }, system / 1e6);
    },
  });

  const pool = opts.pool;
  if (pool) {
    new client.Counter({
      name: "virgo_kv_quorum_total",
      help: "KV quorums by phase (read, prepare, accept) and outcome (ok, failed)",
      labelNames: ["phase", "outcome"] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [phase, n] of Object.entries(pool.counters().quorum)) {
          this.inc({ phase, outcome: "ok" }, n.ok);
          this.inc({ phase, outcome: "failed" }, n.failed);
        }
      },
    });
    gauge(
      "virgo_kv_hinted_handoff_backlog",
      "Writes held here as hints for replicas that were unreachable, not yet delivered",
      async () => (await pool.stats()).hints,
    );
    gauge(
      "virgo_kv_rebalance_running",
      "1 while a rebalance pass runs on this peer",
      () => pool.counters().rebalance.running ? 1 : 0,
    );
    gauge(
      "virgo_kv_rebalance_scanned_records",
      "Records looked at by the running (or last) rebalance pass",
      () => pool.counters().rebalance.scanned,
    );
    new client.Counter({
      name: "virgo_kv_rebalance_records_total",
      help: "Records copied to new owners (moved) and dropped here once they held them (dropped)",
      labelNames: ["action"] as const,
      registers: [registry],
      collect() {
        const r = pool.counters().rebalance;
        this.reset();
        this.inc({ action: "moved" }, r.moved);
        this.inc({ action: "dropped" }, r.dropped);
      },
    });
    new client.Counter({
      name: "virgo_kv_rebalance_passes_total",
      help: "Rebalance passes started on this peer",
      registers: [registry],
      collect() {
        this.reset();
        this.inc(pool.counters().rebalance.passes);
      },
    });
    gauge(
      "virgo_pool_total_bytes",
      "Memory-pool capacity offered by this peer",
      () => pool.capacity().totalBytes,
    );
  }

  const tracked = new Map<string, Tracked>();
  const ring: CallRecord[] = [];
  let ringNext = 0;

  function track(fn: string): Tracked {
    let t = tracked.get(fn);
    if (t) {
      tracked.delete(fn); // re-inserted last: the Map's order is least recently called first
    } else {
      if (tracked.size >= MAX_TRACKED) tracked.delete(tracked.keys().next().value!);
      t = {
        calls: 0,
        errors: 0,
        latencies: new Float64Array(window),
        next: 0,
        filled: 0,
        lastErrors: [],
      };
    }
    tracked.set(fn, t);
    return t;
  }

  return {
    contentType: registry.contentType,
    invokeTimer(fn, where, requestId, peer) {
      const t0 = performance.now();
      return (outcome, end = {}) => {
        const ms = performance.now() - t0;
        calls.observe(fn, where, outcome, ms / 1000);
        const t = track(fn);
        t.calls++;
        t.latencies[t.next] = ms;
        t.next = (t.next + 1) % window;
        t.filled = Math.min(window, t.filled + 1);
        const failed = outcome !== "ok" || (end.status ?? 0) >= 500;
        if (failed) {
          t.errors++;
          const error: CallError = {
            at: Date.now(),
            code: outcome === "ok" ? `HTTP ${end.status}` : outcome,
            message: (end.message ?? "").slice(0, 300),
          };
          if (requestId !== undefined) error.requestId = requestId;
          t.lastErrors.unshift(error);
          t.lastErrors.length = Math.min(t.lastErrors.length, LAST_ERRORS);
        }
        const record: CallRecord = { at: Date.now(), fn, where, outcome, ms };
        if (peer !== undefined) record.peer = peer;
        if (end.status !== undefined) record.status = end.status;
        if (requestId !== undefined) record.requestId = requestId;
        if (ring.length < ringSize) ring.push(record);
        else ring[ringNext] = record;
        ringNext = (ringNext + 1) % ringSize;
      };
    },
    httpRequest(route, status) {
      http.inc({ route, status: String(status) });
    },
    moved(fn, code) {
      moved.inc({ fn, code });
    },
    gauge(name, help, read) {
      gauge(name, help, read);
    },
    functionStats() {
      const out = new Map<string, FunctionStats>();
      for (const [fn, t] of tracked) {
        const sorted = t.latencies.slice(0, t.filled).sort();
        out.set(fn, {
          calls: t.calls,
          errors: t.errors,
          p50Ms: quantile(sorted, 0.5),
          p99Ms: quantile(sorted, 0.99),
          lastErrors: t.lastErrors.slice(),
        });
      }
      return out;
    },
    recentCalls() {
      return ring.length < ringSize
        ? ring.slice()
        : [...ring.slice(ringNext), ...ring.slice(0, ringNext)];
    },
    render: () => registry.metrics(),
  };
}
