/**
 * The call metrics (`virgo_invocations_total`, `virgo_invocation_seconds`) kept in plain per-series
 * arrays and rendered for prom-client's registry at scrape time. prom-client validates and hashes
 * the labels of every `observe()` and `inc()`; on the call path that was ~3% of a peer's CPU under
 * load, where a Map lookup and two array increments do.
 * @module
 */
import type client from "prom-client";

/** Bucket bounds of the latency histogram, in seconds. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

/** Past this many series, the oldest created is dropped (its counts start again if it returns). */
const MAX_SERIES = 2_000;

interface Series {
  readonly fn: string;
  readonly where: string;
  /** Calls per bucket (not cumulative); the last counts those above every bound. */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
  readonly outcomes: Map<string, number>;
}

/** Records calls by function, where they ran and outcome. */
export interface CallSeries {
  /** One call that took `seconds` to its response head and ended with `outcome`. */
  observe(fn: string, where: string, outcome: string, seconds: number): void;
}

/**
 * Registers the two call metrics in `registry` and returns their recorder.
 *
 * @example
 * ```ts
 * const series = callSeries(registry);
 * series.observe("hello", "local", "ok", 0.0004);
 * await registry.metrics(); // virgo_invocations_total{fn="hello",where="local",outcome="ok"} 1 …
 * ```
 */
export function callSeries(registry: client.Registry): CallSeries {
  const series = new Map<string, Series>();
  const nBuckets = LATENCY_BUCKETS.length;
  registry.registerMetric({
    name: "virgo_invocations_total",
    help: "Function calls by function, where they ran, and outcome (ok or an error code)",
    type: "counter",
    aggregator: "sum",
    get: () =>
      Promise.resolve({
        name: "virgo_invocations_total",
        help: "Function calls by function, where they ran, and outcome (ok or an error code)",
        type: "counter",
        aggregator: "sum",
        values: [...series.values()].flatMap((s) =>
          [...s.outcomes].map(([outcome, value]) => ({
            labels: { fn: s.fn, where: s.where, outcome },
            value,
          }))
        ),
      }),
    reset: () => series.clear(),
  } as unknown as client.Metric);
  registry.registerMetric({
    name: "virgo_invocation_seconds",
    help: "Time to the response head of function calls, by function and where they ran",
    type: "histogram",
    aggregator: "sum",
    get: () =>
      Promise.resolve({
        name: "virgo_invocation_seconds",
        help: "Time to the response head of function calls, by function and where they ran",
        type: "histogram",
        aggregator: "sum",
        values: [...series.values()].flatMap((s) => {
          const labels = { fn: s.fn, where: s.where };
          let acc = 0;
          const out: Array<
            { labels: Record<string, string | number>; value: number; metricName: string }
          > = [];
          for (let i = 0; i <= nBuckets; i++) {
            acc += s.buckets[i]!;
            out.push({
              labels: { ...labels, le: i < nBuckets ? LATENCY_BUCKETS[i]! : "+Inf" },
              value: acc,
              metricName: "virgo_invocation_seconds_bucket",
            });
          }
          out.push({ labels, value: s.sum, metricName: "virgo_invocation_seconds_sum" });
          out.push({ labels, value: s.count, metricName: "virgo_invocation_seconds_count" });
          return out;
        }),
      }),
    reset: () => series.clear(),
  } as unknown as client.Metric);

  return {
    observe(fn, where, outcome, seconds) {
      const key = `${where}\n${fn}`;
      let s = series.get(key);
      if (s === undefined) {
        if (series.size >= MAX_SERIES) series.delete(series.keys().next().value!);
        s = {
          fn,
          where,
          buckets: new Float64Array(nBuckets + 1),
          sum: 0,
          count: 0,
          outcomes: new Map(),
        };
        series.set(key, s);
      }
      let i = 0;
      while (i < nBuckets && seconds > LATENCY_BUCKETS[i]!) i++;
      s.buckets[i]!++;
      s.sum += seconds;
      s.count++;
      s.outcomes.set(outcome, (s.outcomes.get(outcome) ?? 0) + 1);
    },
  };
}
