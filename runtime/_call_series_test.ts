import assert from "node:assert/strict";
import client from "prom-client";
import { callSeries } from "./_call_series.ts";

Deno.test("call series: counts by outcome and a cumulative histogram, in Prometheus text", async () => {
  const registry = new client.Registry();
  const series = callSeries(registry);
  series.observe("hello", "local", "ok", 0.0004);
  series.observe("hello", "local", "ok", 0.003);
  series.observe("hello", "local", "FUNCTION_TIMEOUT", 30);
  series.observe("hello", "remote", "ok", 0.001);
  const text = await registry.metrics();
  const line = (s: string) => assert.ok(text.includes(`${s}\n`), `${s} in\n${text}`);
  line('virgo_invocations_total{fn="hello",where="local",outcome="ok"} 2');
  line('virgo_invocations_total{fn="hello",where="local",outcome="FUNCTION_TIMEOUT"} 1');
  line('virgo_invocations_total{fn="hello",where="remote",outcome="ok"} 1');
  line('virgo_invocation_seconds_bucket{fn="hello",where="local",le="0.0005"} 1');
  line('virgo_invocation_seconds_bucket{fn="hello",where="local",le="0.0025"} 1');
  line('virgo_invocation_seconds_bucket{fn="hello",where="local",le="0.005"} 2');
  line('virgo_invocation_seconds_bucket{fn="hello",where="local",le="10"} 2');
  line('virgo_invocation_seconds_bucket{fn="hello",where="local",le="+Inf"} 3');
  line('virgo_invocation_seconds_count{fn="hello",where="local"} 3');
  line('virgo_invocation_seconds_bucket{fn="hello",where="remote",le="0.001"} 1');
  assert.match(text, /# TYPE virgo_invocation_seconds histogram/);
  assert.match(text, /# TYPE virgo_invocations_total counter/);
});
