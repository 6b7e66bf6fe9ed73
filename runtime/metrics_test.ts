/**
 * `/metrics` through `app.request()` on the app over light parts: per-function latency
 * histograms, the pool's quorums, hinted-handoff backlog and rebalance progress, and the
 * process's RSS and CPU; and the per-function view the dashboard reads.
 */
import assert from "node:assert/strict";
import { startTestApp } from "./_testing.ts";
import { createMetrics } from "./metrics.ts";

/** The value of the sample `name{labels}` in `text`, or undefined. */
function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_:]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries(
      [...(m[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

Deno.test("metrics: calls, kv quorums, handoff, rebalance and the process through /metrics", async () => {
  await using t = await startTestApp();
  const code = `export default { fetch: (r) => new URL(r.url).pathname === "/fail"
    ? new Response("no", { status: 503 }) : new Response("ok") }`;
  const put = await t.app.request("/v1/functions/timed", {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code }),
  });
  assert.equal(put.status, 201);
  for (let i = 0; i < 3; i++) assert.equal(await (await t.app.request("/fn/timed")).text(), "ok");
  assert.equal((await t.app.request("/fn/timed/fail")).status, 503);
  // A conditional write: a plain one skips the prepare.
  const cas = { method: "PUT", body: "1", headers: { "if-match": "0" } };
  assert.equal((await t.app.request("/v1/kv/a", cas)).status, 200);
  assert.equal((await t.app.request("/v1/kv/a")).status, 200);
  await t.pool.drain?.();

  const res = await t.app.request("/metrics");
  assert.equal(res.status, 200);
  const text = await res.text();
  // A histogram per function: four calls of `timed`, all under 10 s.
  assert.equal(sample(text, "virgo_invocation_seconds_count", { fn: "timed", where: "local" }), 4);
  assert.equal(
    sample(text, "virgo_invocation_seconds_bucket", { fn: "timed", where: "local", le: "10" }),
    4,
  );
  assert.equal(sample(text, "virgo_invocations_total", { fn: "timed", outcome: "ok" }), 4);
  // The kv write went through prepare and accept quorums, the read through a read quorum.
  for (const phase of ["prepare", "accept", "read"]) {
    assert.ok((sample(text, "virgo_kv_quorum_total", { phase, outcome: "ok" }) ?? 0) >= 1, phase);
    assert.equal(sample(text, "virgo_kv_quorum_total", { phase, outcome: "failed" }), 0, phase);
  }
  assert.equal(sample(text, "virgo_kv_hinted_handoff_backlog"), 0);
  assert.ok((sample(text, "virgo_kv_rebalance_passes_total") ?? 0) >= 1, "the start's pass");
  assert.equal(sample(text, "virgo_kv_rebalance_running"), 0);
  assert.equal(sample(text, "virgo_kv_rebalance_records_total", { action: "moved" }), 0);
  assert.equal(sample(text, "virgo_pool_total_bytes"), 1 << 20);
  // The process: RSS of tens of MB at least, some CPU spent.
  assert.ok((sample(text, "process_resident_memory_bytes") ?? 0) > 10 * 1024 * 1024);
  assert.ok((sample(text, "process_cpu_seconds_total", { mode: "user" }) ?? 0) > 0);
  assert.ok((sample(text, "process_start_time_seconds") ?? 0) > 1.6e9);
});

Deno.test("metrics: per-function stats and the ring of latest calls for the dashboard", () => {
  const m = createMetrics({ recentCalls: 3, window: 4 });
  m.invokeTimer("a", "local", "r1")("ok", { status: 200 });
  m.invokeTimer("a", "remote", "r2", "peerB")("ok", { status: 500 });
  m.invokeTimer("a", "local", "r3")("FUNCTION_TIMEOUT", { message: "took too long" });
  m.invokeTimer("b", "local", "r4")("ok", { status: 204 });
  const a = m.functionStats().get("a")!;
  assert.equal(a.calls, 3);
  assert.equal(a.errors, 2, "a 500 answer and a failure");
  assert.deepEqual(a.lastErrors.map((e) => [e.code, e.requestId, e.message]), [
    ["FUNCTION_TIMEOUT", "r3", "took too long"],
    ["HTTP 500", "r2", ""],
  ]);
  assert.ok(a.p50Ms >= 0 && a.p99Ms >= a.p50Ms);
  // Bounded: the oldest call fell out of the ring; the rest in order, with where each ran.
  assert.deepEqual(
    m.recentCalls().map((c) => [c.requestId, c.fn, c.where, c.peer]),
    [["r2", "a", "remote", "peerB"], ["r3", "a", "local", undefined], [
      "r4",
      "b",
      "local",
      undefined,
    ]],
  );
});
